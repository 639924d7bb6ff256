// The CDK app: the monitor stack and the member-account role stack, checked by cdk-nag's AwsSolutions
// pack during synthesis. Synthesis needs no AWS credentials or network (`npx cdk synth`).
import { App } from "aws-cdk-lib";
import { ConfigError } from "./config.ts";
import { buildMonitorApp } from "./monitor-app.ts";

const app = new App();
try {
  buildMonitorApp(app);
} catch (error) {
  // A bad context value is the deployer's input: one line, no stack trace.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`exposure-monitor: ${error.message}`);
  process.exit(2);
}
app.synth();
