export { DEFAULT_DETECTION_SETTINGS, type DetectionSettings } from './catalog';
export { detectFindings, detectRange, type DetectHooks, type DetectOutcome } from './detect-pass';
export { dpodClientDirectory, type ClientDirectorySource } from './client-directory';
