export * from './errors.js';
export {
  ReferenceValueStore,
  parseReferenceValue,
  type ReferenceValue,
} from './reference-values.js';
