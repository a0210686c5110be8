export * from './audit-errors.js';
export * from './audit-event.js';
export * from './audit-actions.js';
export * from './hash-chain.js';
export * from './audit-writer.js';
export {
  EVENT_COLUMN_NAMES,
  EVENT_COLUMN_SPECS,
  EVENT_COLUMNS,
  INSERT_EVENT_ROWS,
  eventRowValues,
} from './event-rows.js';
export * from './verify-chain.js';
export * from './query-events.js';
export * from './checkpoint.js';
export * from './checkpoint-keyring.js';
export * from './checkpoint-store.js';
export * from './export-format.js';
export * from './export-stream.js';
export * from './verify-export.js';
export * from './export-snapshot.js';
export * from './verified-mark.js';
