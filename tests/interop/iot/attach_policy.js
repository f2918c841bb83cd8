'use strict';
// AttachPolicy from the AWS SDK for JavaScript v2, written as the AWS IoT + Cognito sample app writes it
// (attachPolicy in AuthDisplay.js): a new AWS.Iot({region, apiVersion, endpoint}) per call, and an error
// callback that treats everything but ResourceAlreadyExistsException as a failure.
//
// Usage: node attach_policy.js IDENTITY_ID POLICY_NAME [OTHER_POLICY_NAME]
// Environment: BASTION_ENDPOINT (http://host:port), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN. Prints one JSON object with what each call did.
const AWS = require('aws-sdk');

const AWSConfiguration = {
  region: process.env.AWS_REGION,
  apiVersion: '2015-05-28',
  endpoint: process.env.BASTION_ENDPOINT,
};

AWS.config.credentials = new AWS.Credentials(
  process.env.AWS_ACCESS_KEY_ID,
  process.env.AWS_SECRET_ACCESS_KEY,
  process.env.AWS_SESSION_TOKEN,
);

function attachPolicy(id, policyName) {
  return new Promise((resolve) => {
    const Iot = new AWS.Iot({
      region: AWSConfiguration.region,
      apiVersion: AWSConfiguration.apiVersion,
      endpoint: AWSConfiguration.endpoint,
    });
    const params = { policyName: policyName, target: id };
    Iot.attachPolicy(params, function (err, data) {
      if (err) {
        if (err.code !== 'ResourceAlreadyExistsException') {
          resolve({ ok: false, code: err.code, statusCode: err.statusCode, message: err.message });
        } else {
          resolve({ ok: true, alreadyExists: true });
        }
      } else {
        resolve({ ok: true, data: data });
      }
    });
  });
}

function listAttached(id) {
  const Iot = new AWS.Iot(AWSConfiguration);
  return Iot.listAttachedPolicies({ target: id }).promise()
    .then((data) => data.policies.map((p) => p.policyName))
    .catch((err) => ({ error: err.code }));
}

async function main() {
  const [identityId, policyName, other] = process.argv.slice(2);
  const result = {
    first: await attachPolicy(identityId, policyName),
    second: await attachPolicy(identityId, policyName),
  };
  if (other) {
    result.other = await attachPolicy(identityId, other);
  }
  result.attached = await listAttached(identityId);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
