/** A failure the operator can act on: the command line prints its message as one line on stderr and exits 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}
