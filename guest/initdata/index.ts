export * from './errors.js';
export {
  INITDATA_FILES,
  INITDATA_RUN_DIR,
  INITDATA_TOML_FILE,
  findInitDataDisk,
  readPublishedInitData,
  writeInitDataFiles,
  type FoundInitData,
} from './initdata-disk.js';
export { LAUNCH_DIGEST_KEY, parseLaunchDigest, type LaunchDigest } from './launch-digest.js';
