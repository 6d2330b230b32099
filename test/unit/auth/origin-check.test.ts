import test from 'ava';
import { checkOrigin, normaliseOrigin } from '../../../server/auth/origin-check.js';

const allowList = ['https://term.example.com', 'http://localhost:8080'];

function code(origin: string | undefined, list: readonly string[] = allowList): string | undefined {
  return checkOrigin(origin, list)?.code;
}

test('programs (no Origin header) are allowed whatever the list', (t) => {
  t.is(code(undefined), undefined);
  t.is(code(undefined, []), undefined);
});

test('an Origin listed exactly is allowed, after normalising case and default ports', (t) => {
  for (const origin of ['https://term.example.com', 'HTTPS://TERM.EXAMPLE.COM', 'https://term.example.com:443', 'http://localhost:8080', 'https://term.example.com/']) {
    t.is(code(origin), undefined, origin);
  }
  t.is(code('https://term.example.com', ['https://TERM.example.com:443']), undefined);
});

test('anything not listed exactly is refused with SG_ORIGIN_FORBIDDEN', (t) => {
  const refused = [
    'https://evil.example.com',
    'https://term.example.com.evil.net',
    'https://sub.term.example.com',
    'https://example.com',
    'http://term.example.com',
    'https://term.example.com:8443',
    'http://localhost',
    'http://localhost:8081',
    'http://127.0.0.1:8080',
    'null',
    '',
    'garbage',
    'https://term.example.com/path',
    'https://term.example.com?x=1',
    'https://user@term.example.com',
    'https://term.example.com, https://evil.example.com',
    'https://term.example.com\r\nX: y',
    `https://${'a'.repeat(3000)}.com`,
  ];
  for (const origin of refused) t.is(code(origin), 'SG_ORIGIN_FORBIDDEN', origin.slice(0, 60));
});

test('an empty allow-list refuses every browser', (t) => {
  t.is(code('https://term.example.com', []), 'SG_ORIGIN_FORBIDDEN');
});

test('"*" admits every origin, but only when configured', (t) => {
  t.is(code('https://anything.example', ['*']), undefined);
  t.is(code('null', ['*']), undefined);
  t.is(code('https://anything.example', ['https://*.example']), 'SG_ORIGIN_FORBIDDEN');
});

test('normaliseOrigin keeps scheme://host[:port] and nothing else', (t) => {
  t.is(normaliseOrigin('HTTP://Example.COM:80'), 'http://example.com');
  t.is(normaliseOrigin('https://[::1]:8443'), 'https://[::1]:8443');
  t.is(normaliseOrigin('chrome-extension://abcdefgh'), 'chrome-extension://abcdefgh');
  t.is(normaliseOrigin('https://bücher.example'), 'https://xn--bcher-kva.example');
  t.is(normaliseOrigin('https://a.example/x'), undefined);
  t.is(normaliseOrigin('https://a:b@a.example'), undefined);
  t.is(normaliseOrigin('a.example'), undefined);
});

test('the refusal does not echo a long or unprintable Origin into details', (t) => {
  const error = checkOrigin(`https://${'x'.repeat(500)}.example`, allowList);
  t.is(error?.code, 'SG_ORIGIN_FORBIDDEN');
  t.false(JSON.stringify(error?.details).includes('x'.repeat(200)));
});
