// Signs in to the identity provider's JSON API with amazon-cognito-identity-js
// (USER_SRP_AUTH, the library's default), the way a single-page app does,
// then reads the user's attributes with the access token it got.
//
// Input (stdin, JSON): {endpoint, userPoolId, clientId, cases: [{username,
// password, newPassword}]}; newPassword answers a NEW_PASSWORD_REQUIRED
// challenge. Output (stdout, JSON): {results: [{ok, code, message,
// challenge, sub, email}]}.
'use strict';

const { AuthenticationDetails, CognitoUser, CognitoUserPool } = require('amazon-cognito-identity-js');

function attributes(user) {
	return new Promise(resolve => {
		user.getUserAttributes((err, attrs) => {
			if (err) return resolve({ ok: false, code: err.code || '', message: err.message || '' });
			const m = {};
			for (const a of attrs) m[a.getName()] = a.getValue();
			resolve({ ok: true, sub: m.sub, email: m.email });
		});
	});
}

function signIn(pool, c) {
	return new Promise(resolve => {
		const user = new CognitoUser({ Username: c.username, Pool: pool });
		let challenge = '';
		const callbacks = {
			onSuccess: async () => resolve({ challenge, ...(await attributes(user)) }),
			onFailure: err => resolve({ ok: false, challenge, code: err.code || '', message: err.message || '' }),
			newPasswordRequired: () => {
				challenge = 'NEW_PASSWORD_REQUIRED';
				if (!c.newPassword) return resolve({ ok: false, challenge });
				user.completeNewPasswordChallenge(c.newPassword, {}, callbacks);
			},
		};
		user.authenticateUser(new AuthenticationDetails({ Username: c.username, Password: c.password }), callbacks);
	});
}

async function main() {
	let input = '';
	for await (const chunk of process.stdin) input += chunk;
	const req = JSON.parse(input);
	const pool = new CognitoUserPool({ UserPoolId: req.userPoolId, ClientId: req.clientId, endpoint: req.endpoint });
	const results = [];
	for (const c of req.cases) results.push(await signIn(pool, c));
	process.stdout.write(JSON.stringify({ results }) + '\n');
}

main().catch(err => {
	process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
	process.exit(1);
});
