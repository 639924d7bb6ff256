// The CDK app: the monitor stack and the member-account role stack, checked by cdk-nag's AwsSolutions
// pack during synthesis. Synthesis needs no AWS credentials or network (`npx cdk synth`).
import { App } from "aws-cdk-lib";
import { buildMonitorApp } from "./monitor-app.ts";

const app = new App();
buildMonitorApp(app);
app.synth();
