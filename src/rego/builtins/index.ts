import { COLLECTION_BUILTINS } from './collections.js';
import { ENCODING_BUILTINS } from './encoding.js';
import { MISC_BUILTINS } from './misc.js';
import { NUMBER_BUILTINS } from './numbers.js';
import { OBJECT_BUILTINS } from './objects.js';
import { REGEX_BUILTINS } from './regex.js';
import { STRING_BUILTINS } from './strings.js';
import type { BuiltinDef } from './types.js';

export type { BuiltinContext, BuiltinDef, BuiltinFn } from './types.js';

/** Every builtin by its dotted name. `print` is handled by the evaluator. */
export const BUILTINS: ReadonlyMap<string, BuiltinDef> = new Map(
  Object.entries({
    ...NUMBER_BUILTINS,
    ...COLLECTION_BUILTINS,
    ...STRING_BUILTINS,
    ...REGEX_BUILTINS,
    ...ENCODING_BUILTINS,
    ...OBJECT_BUILTINS,
    ...MISC_BUILTINS,
  }),
);
