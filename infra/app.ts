// The CDK app. Stacks are added by the deployment issue; synthesis must work offline.
import { App } from "aws-cdk-lib";

const app = new App();
app.synth();
