/**
 * The last branch of every `switch` on a closed union (STYLE.md rule 4). One implementation
 * for both sides: the client SDK ships without the server, so it lives there, and the server
 * imports it as it imports the SDK's error registry.
 */
export { assertNever } from '../../client-sdk/src/protocol/assert-never.js';
