/** Single-quotes a value for a POSIX shell, so a quote inside it cannot end the argument. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A double-quoted HCL string literal: backslashes and quotes escaped, and `${` / `%{` doubled so
 * a value can never start a Terraform interpolation or template directive.
 */
export function hclString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    // A function: as a replacement string, `$$` would collapse to one `$`.
    .replace(/\$\{/g, () => '$${')
    .replace(/%\{/g, '%%{');
  return `"${escaped}"`;
}
