// A gamer signs in on the public site with a wallet: an EIP-1193 test
// wallet (window.ethereum, signing in Node with a throwaway key) answers
// eth_requestAccounts and personal_sign; the header then shows the
// shortened wallet, also after a reload, until the gamer signs out. A
// browser without a wallet is told so beside the button.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { expect, expectAccessible, hydrated, state, test } from './helpers';

function testWallet() {
  const key = secp256k1.utils.randomSecretKey();
  const pub = secp256k1.getPublicKey(key, false);
  const address = '0x' + Buffer.from(keccak_256(pub.slice(1)).slice(-20)).toString('hex');
  // EIP-191 personal_sign: keccak256("\x19Ethereum Signed Message:\n" + length + message), r || s || v.
  const sign = (hexMessage: string) => {
    const message = Buffer.from(hexMessage.replace(/^0x/, ''), 'hex');
    const digest = keccak_256(
      Buffer.concat([Buffer.from(`\x19Ethereum Signed Message:\n${message.length}`), message]),
    );
    const sig = secp256k1.sign(digest, key, { prehash: false, format: 'recovered' });
    return '0x' + Buffer.concat([Buffer.from(sig.slice(1)), Buffer.from([27 + sig[0]])]).toString('hex');
  };
  return { address, sign };
}

test('a gamer signs in with a wallet and out again', async ({ page }) => {
  const wallet = testWallet();
  await page.exposeFunction('__testWalletSign', wallet.sign);
  await page.addInitScript((address) => {
    const w = window as unknown as { ethereum: unknown; __testWalletSign: (m: string) => Promise<string> };
    w.ethereum = {
      request: async ({ method, params }: { method: string; params?: string[] }) => {
        if (method === 'eth_requestAccounts') return [address];
        if (method === 'personal_sign' && params) return w.__testWalletSign(params[0]);
        throw new Error(`unsupported method ${method}`);
      },
    };
  }, wallet.address);
  await page.goto(state().url + '/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with wallet' }).click();
  const short = (a: string) => a.slice(0, 6).toLowerCase() + '…' + a.slice(-4).toLowerCase();
  await expect(page.getByTestId('gamer-wallet')).toBeVisible();
  expect((await page.getByTestId('gamer-wallet').textContent())!.toLowerCase()).toBe(short(wallet.address));
  await expectAccessible(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/gamer-signed-in-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  // "My rewards": the wallet's own activities (a new wallet has none yet).
  await page.getByRole('link', { name: 'My rewards' }).click();
  await expect(page.getByTestId('my-activities')).toContainText('No activities reported for this wallet yet.');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/my-rewards-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/my-rewards-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  // The session holds across a reload (the page is rendered for the gamer, not from the cache).
  await page.reload();
  await expect(page.getByTestId('gamer-wallet')).toBeVisible();
  await expect(page.getByTestId('my-activities')).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in with wallet' })).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('gamer-wallet')).toHaveCount(0);
});

test('without a wallet the visitor is told what is missing', async ({ page }) => {
  await page.goto(state().url + '/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with wallet' }).click();
  await expect(page.getByTestId('wallet-problem')).toContainText('No wallet found');
  await page.goto(state().url + '/me');
  await expect(page.getByTestId('my-rewards-signed-out')).toBeVisible();
});
