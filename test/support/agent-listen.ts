// A counting UDP listener for the hostile-traffic test: runs in a pod namespace, binds 0.0.0.0:PORT and
// prints one line per datagram received ("rx SRC:PORT LENGTH"). Exits by itself after SECONDS (bounded).
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2]);
const seconds = Number(process.argv[3] ?? 300);
const sock = createSocket('udp4');
sock.on('message', (msg, from) => process.stdout.write(`rx ${from.address}:${from.port} ${msg.length}\n`));
sock.bind(port, '0.0.0.0', () => process.stdout.write(`listening ${port}\n`));
setTimeout(() => process.exit(0), seconds * 1000);
