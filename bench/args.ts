// Flags of the bench scripts run directly (`node --import tsx bench/<name>.ts --runs 5 ...`): one
// parser, so that every script refuses a misspelt flag or a bad value with a message naming it
// (exit 2) instead of running a different benchmark than the one asked for. Values use the CLI's
// parsers (src/cli-args.ts): underscores and k/M suffixes allowed.
import { choice, integer, number } from '../src/cli-args.js';

export interface BenchArgs {
  /** The value of `--name`, or the fallback. */
  string(name: string, fallback: string): string;
  /** The value of `--name`, or undefined when it is not given. */
  optional(name: string): string | undefined;
  /** An integer in [min, max]. */
  int(name: string, fallback: number, min?: number, max?: number): number;
  /** A finite number in [min, max]. */
  num(name: string, fallback: number, min?: number, max?: number): number;
  /** A comma-separated list, each item checked by `item` (default: any non-empty text). */
  list<T = string>(name: string, fallback: string, item?: (value: string) => T): T[];
  /** Each comma-separated item one of `values`. */
  choices<T extends string>(name: string, fallback: string, values: readonly T[]): T[];
  /** Whether the value-less flag `--name` is given. */
  flag(name: string): boolean;
}

/**
 * Reads `argv` (default: this process's arguments). `known` lists every flag the script takes,
 * with a value (`'--runs'`) or without one (`'--no-pin'`, given in `switches`); anything else is
 * refused at once, with the list.
 */
export function benchArgs(script: string, known: readonly string[], switches: readonly string[] = [], argv = process.argv.slice(2)): BenchArgs {
  const fail = (message: string): never => {
    console.error(`${script}: ${message}\nflags: ${[...known.map((k) => `${k} <value>`), ...switches].join(' ')}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (switches.includes(a)) continue;
    if (!known.includes(a)) fail(`unknown argument '${a}'`);
    if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && !/^--?\d/.test(argv[i + 1]))) fail(`${a} needs a value`);
    i++;
  }
  const raw = (name: string): string | undefined => {
    const i = argv.lastIndexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const parse = <T>(name: string, text: string, parser: (value: string) => T): T => {
    try {
      return parser(text);
    } catch (e) {
      return fail((e as Error).message);
    }
  };
  const list = <T>(name: string, fallback: string, item: (value: string) => T): T[] => {
    const items = (raw(name) ?? fallback).split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) fail(`${name} takes a comma-separated list without empty items; got '${raw(name)}'`);
    return items.map((s) => parse(name, s, item));
  };
  return {
    string: (name, fallback) => raw(name) ?? fallback,
    optional: (name) => raw(name),
    int: (name, fallback, min = 0, max = Number.MAX_SAFE_INTEGER) => {
      const text = raw(name);
      return text === undefined ? fallback : parse(name, text, integer(name, min, max));
    },
    num: (name, fallback, min = 0, max = Number.MAX_VALUE) => {
      const text = raw(name);
      return text === undefined ? fallback : parse(name, text, number(name, min, max));
    },
    list: <T>(name: string, fallback: string, item?: (value: string) => T) => list(name, fallback, item ?? ((s: string) => s as T)),
    choices: (name, fallback, values) => list(name, fallback, choice(name, values)),
    flag: (name) => argv.includes(name),
  };
}
