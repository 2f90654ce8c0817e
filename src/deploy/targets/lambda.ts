import type { DeployParams, DeployTargetSpec, RenderedFile } from '../deploy-types.js';
import { memoryBytes } from '../quantities.js';

/** Lambda's MemorySize (MB, 128..10240) from a Kubernetes quantity; CPU is allotted in proportion. */
export function lambdaMemoryMb(quantity: string): number {
  const bytes = memoryBytes(quantity) ?? 512 * 1024 ** 2;
  return Math.min(10240, Math.max(128, Math.ceil(bytes / 1024 ** 2)));
}

/** A CloudFormation logical id from the app name (`ferry-eu` → `FerryEu`). */
function logicalId(appName: string): string {
  return appName
    .split('-')
    .filter((p) => p !== '')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

function template(p: DeployParams): string {
  const fn = `${logicalId(p.appName)}Function`;
  const memory = lambdaMemoryMb(p.memory);
  const { name: secret, key } = p.tokenSecret;
  return `# Rendered by \`ferry deploy render lambda\` (ferry ${p.ferryVersion}); edit the flags, not this file.
# The Ferry model server as one AWS Lambda function (docs/deployment/lambda.md): the bundle of
# \`npm run build:lambda\` (dist-lambda/function: index.mjs and the model it serves), behind an
# API Gateway HTTP API and a function URL. Deploy: npm run build:lambda -- --model ${p.model.name}@${p.model.alias}
# then sam deploy --guided --template-file deploy/lambda/template.yaml (no \`sam build\`: the bundle is built).
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: Ferry ${p.ferryVersion} model server for ${p.model.name}@${p.model.alias} on AWS Lambda

Parameters:
  AdminTokenSecret:
    Type: String
    Default: ''
    AllowedPattern: '^[A-Za-z0-9/_+=.@-]*$'
    Description: >-
      Name of a Secrets Manager secret whose JSON key "${key}" is FERRY_ADMIN_TOKEN (e.g. ${secret});
      empty leaves the admin routes off (401). Resolved when the stack deploys.
  FunctionUrlAuthType:
    Type: String
    Default: AWS_IAM
    AllowedValues: [AWS_IAM, NONE]
    Description: Who may call the function URL (AWS_IAM, signed requests; NONE, anyone). The HTTP API is public.
  PredictionLog:
    Type: String
    Default: 'off'
    AllowedValues: ['off', stdout]
    Description: FERRY_LAMBDA_PREDICTION_LOG; stdout writes one JSON line per request to CloudWatch Logs.

Conditions:
  HasAdminToken: !Not [!Equals [!Ref AdminTokenSecret, '']]

Resources:
  ${fn}:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: ${p.appName}
      Description: Ferry model server (${p.model.name}@${p.model.alias})
      CodeUri: ../../dist-lambda/function
      Handler: index.handler
      Runtime: nodejs22.x
      # The bundle is JavaScript only (no native module): either architecture runs it; arm64 costs less.
      Architectures: [arm64]
      MemorySize: ${memory}
      # API Gateway stops waiting at 30 s; the model loads at init, outside this budget.
      Timeout: 30
      EphemeralStorage:
        Size: 512
      Environment:
        Variables:
          FERRY_ALIASES: ${p.model.alias}
          FERRY_LAMBDA_PREDICTION_LOG: !Ref PredictionLog
          FERRY_ADMIN_TOKEN: !If
            - HasAdminToken
            - !Sub '{{resolve:secretsmanager:\${AdminTokenSecret}:SecretString:${key}}}'
            - !Ref AWS::NoValue
      FunctionUrlConfig:
        AuthType: !Ref FunctionUrlAuthType
      Events:
        HttpApi:
          Type: HttpApi
          Properties:
            PayloadFormatVersion: '2.0'

Outputs:
  ApiUrl:
    Description: The HTTP API's endpoint (POST /predict, POST /v2/models/${p.model.name}/infer)
    Value: !Sub 'https://\${ServerlessHttpApi}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/'
  FunctionUrl:
    Description: The function URL
    Value: !GetAtt ${fn}Url.FunctionUrl
`;
}

function readme(p: DeployParams): string {
  return `# Ferry on AWS Lambda

Rendered by \`ferry deploy render lambda\` (ferry ${p.ferryVersion}). The guide, with the events
supported, the limits and measured figures, is docs/deployment/lambda.md.

\`template.yaml\` is an AWS SAM template: one function (\`${p.appName}\`, nodejs22.x, arm64,
${lambdaMemoryMb(p.memory)} MB) serving ${p.model.name}@${p.model.alias} behind an API Gateway HTTP API
and a function URL.

\`\`\`sh
npm run build:lambda -- --model ${p.model.name}@${p.model.alias}   # dist-lambda/function: index.mjs + model/
sam deploy --guided --template-file deploy/lambda/template.yaml
\`\`\`

No \`sam build\`: \`CodeUri\` is the bundle \`npm run build:lambda\` made (one ES module and the
model); \`sam deploy\` zips and uploads it as it is.

Parameters:

- \`AdminTokenSecret\`: a Secrets Manager secret whose JSON key \`${p.tokenSecret.key}\` becomes
  FERRY_ADMIN_TOKEN (e.g. \`${p.tokenSecret.name}\`); empty (the default) leaves the admin routes off.
- \`FunctionUrlAuthType\`: \`AWS_IAM\` (default) or \`NONE\`.
- \`PredictionLog\`: \`off\` (default) or \`stdout\` (one JSON line per request in CloudWatch Logs).

A model too large for the package (250 MB unzipped) is fetched at init instead: set
FERRY_LAMBDA_MODEL_URL and FERRY_LAMBDA_MODEL_SHA256 and build with \`--no-model\`.
`;
}

export const lambdaTarget: DeployTargetSpec = {
  target: 'lambda',
  description:
    'AWS Lambda: a SAM template (function, HTTP API, function URL) for the npm run build:lambda bundle',
  defaultOut: 'deploy/lambda',
  committedOut: 'deploy/lambda',
  render: (params) => {
    const files: RenderedFile[] = [
      { path: 'template.yaml', content: template(params) },
      { path: 'README.md', content: readme(params) },
    ];
    return files;
  },
};
