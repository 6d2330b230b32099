/**
 * A classic-BPF interpreter for seccomp filters, to test the exported filter without loading
 * it: given the struct sock_filter bytes and a struct seccomp_data, it returns what the kernel
 * would (SECCOMP_RET_* with its data). It accepts what the kernel's seccomp_check_filter()
 * accepts (kernel/seccomp.c) and throws on anything else, so a malformed program fails loudly.
 * Byte order is x86-64's (little-endian); arguments are 64-bit (bigint).
 */

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
/** x32 syscalls are x86-64 syscalls with this bit set in nr. */
export const X32_SYSCALL_BIT = 0x40000000;

export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

export type SeccompActionName = Lowercase<keyof typeof SECCOMP_RET>;

const ACTION_NAMES: ReadonlyMap<number, SeccompActionName> = new Map<number, SeccompActionName>([
  [SECCOMP_RET.KILL_PROCESS, 'kill_process'],
  [SECCOMP_RET.KILL_THREAD, 'kill_thread'],
  [SECCOMP_RET.TRAP, 'trap'],
  [SECCOMP_RET.ERRNO, 'errno'],
  [SECCOMP_RET.USER_NOTIF, 'user_notif'],
  [SECCOMP_RET.TRACE, 'trace'],
  [SECCOMP_RET.LOG, 'log'],
  [SECCOMP_RET.ALLOW, 'allow'],
]);

export interface SeccompData {
  /** Syscall number (int; pass x32 numbers with X32_SYSCALL_BIT set). */
  readonly nr: number;
  /** AUDIT_ARCH_* (default x86-64). */
  readonly arch?: number;
  readonly instructionPointer?: bigint;
  /** Up to six 64-bit arguments; missing ones are 0. */
  readonly args?: readonly bigint[];
}

export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export interface SeccompResult {
  readonly action: SeccompActionName;
  /** SECCOMP_RET_DATA: the errno for 'errno'. */
  readonly data: number;
}

const SECCOMP_DATA_BYTES = 64;
const BPF_MAXINSNS = 4096;
const SCRATCH_SLOTS = 16;

// linux/bpf_common.h
const BPF_CLASS = 0x07, BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03;
const BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_RET = 0x06, BPF_MISC = 0x07;
const BPF_SIZE = 0x18, BPF_W = 0x00;
const BPF_MODE = 0xe0, BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_MEM = 0x60, BPF_LEN = 0x80;
const BPF_OP = 0xf0, BPF_SRC = 0x08, BPF_X = 0x08;
const BPF_RVAL = 0x18, BPF_K = 0x00, BPF_A = 0x10;
const BPF_MISCOP = 0xf8, BPF_TAX = 0x00, BPF_TXA = 0x80;

/** Splits the exported bytes into instructions (8 bytes each: u16 code, u8 jt, u8 jf, u32 k). */
export function decodeSockFilter(bytes: Uint8Array): SockFilter[] {
  if (bytes.length === 0 || bytes.length % 8 !== 0 || bytes.length / 8 > BPF_MAXINSNS) {
    throw new Error(`a seccomp program is 1..${BPF_MAXINSNS} instructions of 8 bytes; got ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program: SockFilter[] = [];
  for (let offset = 0; offset < bytes.length; offset += 8) {
    program.push({
      code: view.getUint16(offset, true),
      jt: view.getUint8(offset + 2),
      jf: view.getUint8(offset + 3),
      k: view.getUint32(offset + 4, true),
    });
  }
  return program;
}

function seccompDataBytes(data: SeccompData): DataView {
  const args = data.args ?? [];
  if (args.length > 6) throw new Error('seccomp_data has six arguments');
  const view = new DataView(new ArrayBuffer(SECCOMP_DATA_BYTES));
  view.setInt32(0, data.nr, true);
  view.setUint32(4, data.arch ?? AUDIT_ARCH_X86_64, true);
  view.setBigUint64(8, BigInt.asUintN(64, data.instructionPointer ?? 0n), true);
  args.forEach((arg, i) => view.setBigUint64(16 + 8 * i, BigInt.asUintN(64, arg), true));
  return view;
}

function alu(op: number, a: number, operand: number): number {
  switch (op) {
    case 0x00: return (a + operand) >>> 0;
    case 0x10: return (a - operand) >>> 0;
    case 0x20: return Math.imul(a, operand) >>> 0;
    case 0x30: return operand === 0 ? Number.NaN : Math.floor(a / operand) >>> 0;
    case 0x40: return (a | operand) >>> 0;
    case 0x50: return (a & operand) >>> 0;
    case 0x60: return operand >= 32 ? Number.NaN : (a << operand) >>> 0;
    case 0x70: return operand >= 32 ? Number.NaN : a >>> operand;
    case 0x80: return -a >>> 0;
    case 0x90: return operand === 0 ? Number.NaN : a % operand;
    case 0xa0: return (a ^ operand) >>> 0;
    default: throw new Error(`unknown ALU operation 0x${op.toString(16)}`);
  }
}

function jumpTaken(op: number, a: number, operand: number): boolean {
  switch (op) {
    case 0x10: return a === operand;
    case 0x20: return a > operand;
    case 0x30: return a >= operand;
    case 0x40: return (a & operand) !== 0;
    default: throw new Error(`unknown jump 0x${op.toString(16)}`);
  }
}

/** Runs `program` on `data`; returns the 32-bit value of the RET that ends it. */
export function runSeccompFilter(program: readonly SockFilter[], data: SeccompData): number {
  if (program.length === 0 || program.length > BPF_MAXINSNS) throw new Error('bad program length');
  const input = seccompDataBytes(data);
  const scratch = new Array<number>(SCRATCH_SLOTS).fill(0);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const insn = program[pc];
    if (insn === undefined) break;
    const { code, k } = insn;
    const where = `instruction ${pc} (code 0x${code.toString(16)}, k 0x${k.toString(16)})`;
    const operand = (code & BPF_SRC) === BPF_X ? x : k;
    switch (code & BPF_CLASS) {
      case BPF_LD:
      case BPF_LDX: {
        if ((code & BPF_SIZE) !== BPF_W) throw new Error(`${where}: seccomp loads words only`);
        let value: number;
        switch (code & BPF_MODE) {
          case BPF_ABS:
            if (code & BPF_CLASS) throw new Error(`${where}: no absolute load into X`);
            if (k % 4 !== 0 || k + 4 > SECCOMP_DATA_BYTES) throw new Error(`${where}: load outside seccomp_data`);
            value = input.getUint32(k, true);
            break;
          case BPF_IMM: value = k; break;
          case BPF_LEN: value = SECCOMP_DATA_BYTES; break;
          case BPF_MEM:
            if (k >= SCRATCH_SLOTS) throw new Error(`${where}: scratch slot out of range`);
            value = scratch[k] ?? 0;
            break;
          default: throw new Error(`${where}: addressing mode not allowed in seccomp`);
        }
        if ((code & BPF_CLASS) === BPF_LD) a = value;
        else x = value;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (k >= SCRATCH_SLOTS) throw new Error(`${where}: scratch slot out of range`);
        scratch[k] = (code & BPF_CLASS) === BPF_ST ? a : x;
        break;
      case BPF_ALU:
        a = alu(code & BPF_OP, a, operand);
        if (Number.isNaN(a)) throw new Error(`${where}: division by zero or shift by 32 or more`);
        break;
      case BPF_JMP: {
        const op = code & BPF_OP;
        const offset = op === 0x00 ? k : jumpTaken(op, a, operand) ? insn.jt : insn.jf;
        if (pc + 1 + offset >= program.length) throw new Error(`${where}: jump past the end`);
        pc += offset;
        break;
      }
      case BPF_RET: {
        const rval = code & BPF_RVAL;
        if (rval === BPF_K) return k >>> 0;
        if (rval === BPF_A) return a >>> 0;
        throw new Error(`${where}: seccomp returns K or A only`);
      }
      case BPF_MISC: {
        const op = code & BPF_MISCOP;
        if (op === BPF_TAX) x = a;
        else if (op === BPF_TXA) a = x;
        else throw new Error(`${where}: unknown misc operation`);
        break;
      }
    }
  }
  throw new Error('the program ran off its end without a RET');
}

/** Splits a SECCOMP_RET_* value into the action the kernel takes and its data. */
export function seccompAction(ret: number): SeccompResult {
  const full = (ret & 0xffff0000) >>> 0;
  const data = ret & 0xffff;
  // The kernel treats an unknown action as kill_process (__seccomp_filter, kernel/seccomp.c).
  return { action: ACTION_NAMES.get(full) ?? 'kill_process', data };
}

/** runSeccompFilter + seccompAction. */
export function evaluateSeccomp(program: readonly SockFilter[], data: SeccompData): SeccompResult {
  return seccompAction(runSeccompFilter(program, data));
}
