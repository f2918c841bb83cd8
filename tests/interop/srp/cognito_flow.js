// Runs amazon-cognito-identity-js (the user-pool client inside Amplify) against a Bastion server over HTTP.
//
// One JSON request on stdin, one JSON answer on stdout:
//
//   {"op": "signUp",  "endpoint": "http://127.0.0.1:PORT/", "poolId": "...", "clientId": "...",
//    "username": "...", "password": "...", "attributes": {"email": "..."}}
//     -> {"userSub": "...", "userConfirmed": false, "destination": "..."}
//   {"op": "confirm", ..., "username": "...", "code": "123456"}                 -> {"result": "SUCCESS"}
//   {"op": "signIn",  ..., "username": "...", "password": "..."}                -> {"idToken", "accessToken",
//                                                                                   "refreshToken", "username"}
//   {"op": "refresh", ..., "username": "...", "refreshToken": "..."}           -> {"idToken", "accessToken"}
//   {"op": "getAttributes", ..., "username": "...", "password": "..."}         -> {"attributes": {...}}
//   {"op": "newPassword", ..., "username": "...", "password": "<temporary>", "newPassword": "..."}
//     -> {"idToken", ...} after the NEW_PASSWORD_REQUIRED challenge
//
// Failures answer {"error": {"code": "...", "message": "..."}} (the library's error, from the server's
// __type). Sign-in is the library's own USER_SRP_AUTH: it computes SRP_A, reads SALT / SRP_B /
// SECRET_BLOCK, signs the claim with its TIMESTAMP and sends it; the password never leaves this process.
'use strict';

const {
  AuthenticationDetails,
  CognitoRefreshToken,
  CognitoUser,
  CognitoUserAttribute,
  CognitoUserPool,
} = require('amazon-cognito-identity-js');

function pool(request) {
  return new CognitoUserPool({
    UserPoolId: request.poolId,
    ClientId: request.clientId,
    endpoint: request.endpoint,
  });
}

function user(request) {
  return new CognitoUser({ Username: request.username, Pool: pool(request) });
}

function tokensOf(session, cognitoUser) {
  return {
    idToken: session.getIdToken().getJwtToken(),
    accessToken: session.getAccessToken().getJwtToken(),
    refreshToken: session.getRefreshToken().getToken(),
    username: cognitoUser.getUsername(),
  };
}

function signIn(request, onNewPassword) {
  return new Promise((resolve, reject) => {
    const cognitoUser = user(request);
    const details = new AuthenticationDetails({ Username: request.username, Password: request.password });
    cognitoUser.authenticateUser(details, {
      onSuccess: (session) => resolve({ session, cognitoUser }),
      onFailure: reject,
      newPasswordRequired: (userAttributes) => {
        if (!onNewPassword) {
          reject(new Error('unexpected NEW_PASSWORD_REQUIRED'));
          return;
        }
        // The library hands back attributes the caller may not send again.
        delete userAttributes.email_verified;
        delete userAttributes.phone_number_verified;
        cognitoUser.completeNewPasswordChallenge(onNewPassword, {}, {
          onSuccess: (session) => resolve({ session, cognitoUser }),
          onFailure: reject,
        });
      },
    });
  });
}

const operations = {
  signUp: (request) =>
    new Promise((resolve, reject) => {
      const attributes = Object.entries(request.attributes || {}).map(
        ([Name, Value]) => new CognitoUserAttribute({ Name, Value }),
      );
      pool(request).signUp(request.username, request.password, attributes, null, (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        resolve({
          userSub: result.userSub,
          userConfirmed: result.userConfirmed,
          destination: result.codeDeliveryDetails && result.codeDeliveryDetails.Destination,
        });
      });
    }),
  confirm: (request) =>
    new Promise((resolve, reject) => {
      user(request).confirmRegistration(request.code, true, (err, result) => {
        if (err) reject(err);
        else resolve({ result });
      });
    }),
  signIn: async (request) => {
    const { session, cognitoUser } = await signIn(request);
    return tokensOf(session, cognitoUser);
  },
  newPassword: async (request) => {
    const { session, cognitoUser } = await signIn(request, request.newPassword);
    return tokensOf(session, cognitoUser);
  },
  refresh: (request) =>
    new Promise((resolve, reject) => {
      const token = new CognitoRefreshToken({ RefreshToken: request.refreshToken });
      user(request).refreshSession(token, (err, session) => {
        if (err) reject(err);
        else resolve({ idToken: session.getIdToken().getJwtToken(), accessToken: session.getAccessToken().getJwtToken() });
      });
    }),
  getAttributes: async (request) => {
    const { cognitoUser } = await signIn(request);
    return new Promise((resolve, reject) => {
      cognitoUser.getUserAttributes((err, attributes) => {
        if (err) {
          reject(err);
          return;
        }
        const out = {};
        for (const attribute of attributes) out[attribute.getName()] = attribute.getValue();
        resolve({ attributes: out });
      });
    });
  },
};

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const request = JSON.parse(input);
  const run = operations[request.op];
  if (!run) throw new Error(`unknown op ${request.op}`);
  try {
    process.stdout.write(`${JSON.stringify(await run(request))}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: { code: err.code || err.name, message: err.message } })}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(2);
});
