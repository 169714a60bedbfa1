export * from './errors.js';
export {
  INITDATA_FILES,
  INITDATA_RUN_DIR,
  findInitDataDisk,
  writeInitDataFiles,
  type FoundInitData,
} from './initdata-disk.js';
