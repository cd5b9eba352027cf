/** Which host name the `applicationHostname` strategy compares with. */
import { hostname as osHostname } from 'node:os';

/**
 * The host name `applicationHostname` compares with (case-insensitively): the `HOSTNAME`
 * environment variable when it is set and not empty, else the operating system's host
 * name. Containers set `HOSTNAME` to the pod name, and the official SDKs read it first.
 */
export function applicationHostname(
  env: Readonly<Record<string, string | undefined>> = process.env,
  osName: () => string = osHostname,
): string {
  const fromEnv = env.HOSTNAME;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : osName();
}
