// Runs amazon-cognito-identity-js's SRP client against a server that is not AWS.
//
// Line-delimited JSON on stdin and stdout, one sign-in per "id", any number of sign-ins per process:
//
//   in:  {"op": "start", "id": "1", "mode": "helper"|"user", "poolId": "...", "username": "...", "password": "..."}
//   out: {"id": "1", "AuthParameters": {"USERNAME": "...", "SRP_A": "..."}}
//   in:  {"op": "challenge", "id": "1", "ChallengeParameters": {...}}
//   out: {"id": "1", "ChallengeResponses": {...}}   or   {"id": "1", "error": "..."}
//
// mode "user" runs the library's whole CognitoUser.authenticateUser flow with its HTTP client replaced by
// this pipe, so SALT parsing, USERNAME handling, TIMESTAMP and the signature are the library's own.
// mode "helper" drives AuthenticationHelper, BigInteger and DateHelper directly, the way Amplify v5 does;
// there "start" may carry "smallA" (hex) and "challenge" may carry "timestamp", so that another client
// given the same inputs can be compared with this one byte for byte.
'use strict';

const crypto = require('crypto');
const readline = require('readline');
const {
  AuthenticationDetails,
  CognitoUser,
  CognitoUserPool,
} = require('amazon-cognito-identity-js');
const AuthenticationHelper = require('amazon-cognito-identity-js/lib/AuthenticationHelper').default;
const BigInteger = require('amazon-cognito-identity-js/lib/BigInteger').default;
const DateHelper = require('amazon-cognito-identity-js/lib/DateHelper').default;

// --short-client-secret: draw a 256-bit ``a`` instead of the library's 1024 bits, so that a test suite
// can afford many sign-ins. A stays a full group element; every other step is the library's own.
if (process.argv.includes('--short-client-secret')) {
  AuthenticationHelper.prototype.generateRandomSmallA = function generateShortSmallA() {
    return new BigInteger(crypto.randomBytes(32).toString('hex'), 16);
  };
}

const sessions = new Map();

function emit(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function startUser(request) {
  const pool = new CognitoUserPool({ UserPoolId: request.poolId, ClientId: 'bastioninteropclient' });
  const session = {};
  pool.client = {
    request(operation, params, callback) {
      if (operation === 'InitiateAuth') {
        session.answer = (challengeParameters) =>
          callback(null, { ChallengeName: 'PASSWORD_VERIFIER', ChallengeParameters: challengeParameters });
        emit({ id: request.id, AuthParameters: params.AuthParameters });
      } else if (operation === 'RespondToAuthChallenge') {
        emit({ id: request.id, ChallengeResponses: params.ChallengeResponses });
        sessions.delete(request.id);
        // Ends the library's flow; the verdict is the Python server's.
        callback({ code: 'NotAuthorizedException', name: 'NotAuthorizedException', message: 'done' }, null);
      } else {
        emit({ id: request.id, error: `unexpected operation ${operation}` });
      }
    },
  };
  sessions.set(request.id, session);
  const user = new CognitoUser({ Username: request.username, Pool: pool });
  const details = new AuthenticationDetails({ Username: request.username, Password: request.password });
  user.authenticateUser(details, {
    onSuccess() {},
    onFailure(err) {
      if (err && err.message !== 'done') {
        emit({ id: request.id, error: String(err && err.message) });
      }
    },
  });
}

function startHelper(request) {
  const poolName = request.poolId.split('_')[1];
  const helper = new AuthenticationHelper(poolName);
  if (request.smallA) {
    helper.smallAValue = new BigInteger(request.smallA, 16);
    helper.largeAValue = null;
  }
  helper.getLargeAValue((err, aValue) => {
    if (err) {
      emit({ id: request.id, error: String(err.message) });
      return;
    }
    sessions.set(request.id, {
      answer(params, fixedTimestamp) {
        const serverB = new BigInteger(params.SRP_B, 16);
        const salt = new BigInteger(params.SALT, 16);
        const userId = params.USER_ID_FOR_SRP;
        helper.getPasswordAuthenticationKey(userId, request.password, serverB, salt, (keyErr, hkdf) => {
          if (keyErr) {
            emit({ id: request.id, error: String(keyErr.message) });
            return;
          }
          const timestamp = fixedTimestamp || new DateHelper().getNowString();
          const signature = crypto
            .createHmac('sha256', Buffer.from(hkdf))
            .update(Buffer.from(poolName, 'utf8'))
            .update(Buffer.from(userId, 'utf8'))
            .update(Buffer.from(params.SECRET_BLOCK, 'base64'))
            .update(Buffer.from(timestamp, 'utf8'))
            .digest('base64');
          sessions.delete(request.id);
          emit({
            id: request.id,
            ChallengeResponses: {
              USERNAME: userId,
              PASSWORD_CLAIM_SECRET_BLOCK: params.SECRET_BLOCK,
              TIMESTAMP: timestamp,
              PASSWORD_CLAIM_SIGNATURE: signature,
            },
          });
        });
      },
    });
    emit({ id: request.id, AuthParameters: { USERNAME: request.username, SRP_A: aValue.toString(16) } });
  });
}

function handle(request) {
  if (request.op === 'start') {
    (request.mode === 'helper' ? startHelper : startUser)(request);
  } else if (request.op === 'challenge') {
    const session = sessions.get(request.id);
    if (!session || !session.answer) {
      emit({ id: request.id, error: 'no sign-in in progress' });
      return;
    }
    session.answer(request.ChallengeParameters, request.timestamp);
  } else {
    emit({ id: request.id, error: `unknown op ${request.op}` });
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) {
    return;
  }
  try {
    handle(JSON.parse(line));
  } catch (err) {
    // Errors thrown synchronously by the library (e.g. "B cannot be zero.") land here.
    let id = null;
    try {
      id = JSON.parse(line).id;
    } catch (_) {
      // not JSON at all
    }
    emit({ id, error: String(err && err.message) });
  }
});
