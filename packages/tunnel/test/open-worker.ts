// Child process for errors.test.ts: tries to open a TUN device in namespace argv[2] and prints the outcome.
import { openTun } from '../src/index.ts';

try {
  const tun = openTun({ name: 'flannel0', netns: process.argv[2] });
  console.log('OPENED', tun.name);
  tun.close();
} catch (e) {
  console.log('ERROR', (e as Error).name, (e as Error).message);
}
