export * from './unpack-layer.js';
export { entryComponents, RootfsResolver } from './entry-path.js';
export { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from './whiteout.js';
export type { SetXattr, SkippedXattr } from './apply-xattrs.js';
