// TLS material made with openssl at test time: a lab CA, a server certificate it signs, a
// self-signed server certificate and a client certificate. EC keys keep generation fast.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "./netns.ts";

export interface CertificatePaths {
  cert: string;
  key: string;
}

export interface TlsMaterial {
  caCert: string;
  /** Signed by the lab CA: issuer differs from subject. */
  server: CertificatePaths;
  /** Its own issuer: what most exposed TLS Redis servers present. */
  selfSigned: CertificatePaths & { subject: string };
  /** Signed by the lab CA, for servers that require client certificates. */
  client: CertificatePaths;
  caSubject: string;
  serverSubject: string;
}

async function openssl(args: string[]): Promise<void> {
  const result = await runCommand("openssl", args, { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr.trim()}`);
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function signedBy(dir: string, name: string, cn: string, ca: CertificatePaths): Promise<CertificatePaths> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  await openssl(["req", ...EC_KEY, "-keyout", key, "-out", csr, "-subj", `/CN=${cn}`]);
  // A random serial instead of -CAcreateserial: two signings in parallel would race on the serial file.
  const serial = `0x${randomBytes(8).toString("hex")}`;
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-set_serial",
    serial,
    "-days",
    "2",
    "-out",
    cert,
  ]);
  return { cert, key };
}

export async function makeTlsMaterial(workDir: string): Promise<TlsMaterial> {
  const dir = join(workDir, "tls");
  mkdirSync(dir, { recursive: true });
  const caSubject = "Exposure Lab CA";
  const serverSubject = "redis-tls.lab.test";
  const selfSignedSubject = "redis-selfsigned.lab.test";
  const ca = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  const selfSigned = { cert: join(dir, "self.crt"), key: join(dir, "self.key"), subject: selfSignedSubject };
  await Promise.all([
    openssl(["req", "-x509", ...EC_KEY, "-keyout", ca.key, "-out", ca.cert, "-days", "2", "-subj", `/CN=${caSubject}`]),
    openssl([
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      selfSigned.key,
      "-out",
      selfSigned.cert,
      "-days",
      "2",
      "-subj",
      `/CN=${selfSignedSubject}`,
    ]),
  ]);
  const [server, client] = await Promise.all([
    signedBy(dir, "server", serverSubject, ca),
    signedBy(dir, "client", "lab-client", ca),
  ]);
  return { caCert: ca.cert, server, selfSigned, client, caSubject, serverSubject };
}
