// Entry point of the guest components (bundled to dist/guest/guest-components.mjs); the program
// lives in guest/cdh/main.ts (only */main.ts files exit or install signal handlers).
import './cdh/main.js';
