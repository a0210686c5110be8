export {
  SOFTHSM_MODULE,
  createSoftHsmToken,
  softHsmAvailable,
  type SoftHsmToken,
  type SoftHsmTokenOptions,
  type TestKeyOptions,
} from './softhsm-token.js';
