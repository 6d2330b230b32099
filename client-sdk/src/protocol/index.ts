/**
 * The sandgate wire protocol v1 (docs/protocol.md): frame types, the codec, the order rules
 * and the handshake helpers. The server and the SDK import this module and nothing else of
 * each other's. Browser-safe: no Node API (TextEncoder/TextDecoder and DataView only).
 */
export * from './frames.js';
export { PROTOCOL_LIMITS, CEILING_FRAME_LIMITS, DEFAULT_SESSION_LIMITS, type FrameLimits } from './limits.js';
export type { ProtocolError, ProtocolErrorCode, DecodeResult, EncodeResult, Failure } from './protocol-error.js';
export { decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame, type DecodeOptions } from './codec.js';
export { advance, startConversation, outputCredit, stdinCredit, type Advance, type Conversation, type ConversationPhase } from './conversation.js';
export { clientSubprotocols, parseSubprotocolHeader, selectSubprotocol, type SubprotocolSelection } from './subprotocol.js';
export { CLOSE_CODES, MAX_CLOSE_REASON_BYTES, closeFor, errorCodeOfClose, type CloseFrame } from './close-reason.js';
export { toWireMessage } from './text-rules.js';
export { assertNever } from './assert-never.js';
