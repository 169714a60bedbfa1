export * from './errors.js';
export { ByteReader } from './byte-reader.js';
export * from './tdx-quote.js';
export * from './snp-report.js';
export * from './snp-report-json.js';
export * from './initdata.js';
export * from './ccel.js';
export * from './ccel-details.js';
export * from './aael.js';
