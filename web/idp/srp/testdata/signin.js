// Signs in with amazon-cognito-identity-js, the library single-page apps
// use, against the endpoint the Go test serves: the client side of every
// SRP exchange the test checks is computed by the real library.
//
// Input (stdin, JSON): {endpoint, userPoolId, clientId, cases: [{username,
// password, now}]}; now (ms since the epoch, optional) fixes the clock the
// library reads for TIMESTAMP.
// Output (stdout, JSON): {k, results: [{ok, code, message}]}, k being the
// SRP multiplier as the library computes it.
'use strict';

const {
	AuthenticationDetails,
	AuthenticationHelper,
	CognitoUser,
	CognitoUserPool,
} = require('amazon-cognito-identity-js');

const RealDate = Date;

function withClock(now, fn) {
	if (now === undefined) return fn();
	global.Date = class extends RealDate {
		constructor(...args) {
			if (args.length === 0) super(now);
			else super(...args);
		}
		static now() {
			return now;
		}
	};
	return fn().finally(() => {
		global.Date = RealDate;
	});
}

function signIn(pool, c) {
	return new Promise(resolve => {
		const user = new CognitoUser({ Username: c.username, Pool: pool });
		user.setAuthenticationFlowType('USER_SRP_AUTH');
		user.authenticateUser(
			new AuthenticationDetails({ Username: c.username, Password: c.password }),
			{
				onSuccess: () => resolve({ ok: true }),
				onFailure: err => resolve({ ok: false, code: err.code || '', message: err.message || '' }),
				newPasswordRequired: () => resolve({ ok: false, code: 'newPasswordRequired' }),
			}
		);
	});
}

async function main() {
	let input = '';
	for await (const chunk of process.stdin) input += chunk;
	const req = JSON.parse(input);
	const pool = new CognitoUserPool({
		UserPoolId: req.userPoolId,
		ClientId: req.clientId,
		endpoint: req.endpoint,
	});
	const results = [];
	for (const c of req.cases) {
		results.push(await withClock(c.now, () => signIn(pool, c)));
	}
	const k = new AuthenticationHelper('x').k.toString(16);
	process.stdout.write(JSON.stringify({ k, results }) + '\n');
}

main().catch(err => {
	process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
	process.exit(1);
});
