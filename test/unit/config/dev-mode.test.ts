import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthError } from '../../../server/auth/auth-error.js';
import { TokenVerifier } from '../../../server/auth/token-verifier.js';
import { devBanner, mintDevToken, prepareDevMode } from '../../../server/config/dev-mode.js';
import { parseGatewayConfig } from '../../../server/config/gateway-config.js';

test('dev mode adds a dev keypair under stateDir and mints a token that its config verifies', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sandgate-devmode-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const dev = await prepareDevMode(parseGatewayConfig({ dev: true, stateDir }));
  t.is(dev.config.auth.keys.length, 1);
  t.is(dev.config.auth.signingKeys.length, 1);
  t.true(dev.keys.privateKeyFile.startsWith(join(stateDir, 'dev-keys')));
  t.true(Object.isFrozen(dev.config.auth.keys));

  const minted = await mintDevToken(dev);
  const verifier = await TokenVerifier.fromConfig(dev.config.auth);
  const principal = verifier.verify(minted.token);
  t.false(principal instanceof AuthError);
  if (!(principal instanceof AuthError)) t.like(principal, { tenant: 'dev', user: 'dev' });

  const again = await prepareDevMode(dev.config);
  t.is(again.config.auth.keys.length, 1, 'the same key is not listed twice');

  const banner = devBanner({ httpUrl: 'http://127.0.0.1:8080/', sessionsUrl: 'ws://127.0.0.1:8080/v1/sessions' }, minted);
  t.true(banner.includes(`http://127.0.0.1:8080/#token=${minted.token}`), 'the page URL carries the token in its fragment');
  t.false(banner.includes(`?token=`));
});

test('dev mode needs --dev and an absolute stateDir', async (t) => {
  await t.throwsAsync(prepareDevMode(parseGatewayConfig({})), { message: /needs dev mode/ });
  await t.throwsAsync(prepareDevMode(parseGatewayConfig({ dev: true })), { message: /stateDir/ });
});
