/** Single-quotes a value for POSIX shells (values are validated already; this is defence in depth). */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}
