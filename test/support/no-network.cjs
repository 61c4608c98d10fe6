// Preloaded into a child process (node --require) to prove a tool runs offline: every attempt
// to open a network socket (fetch, http, DNS over TCP/UDP) is written to stderr as a line
// starting NETWORK-ATTEMPT and refused. Unix sockets (local IPC) are let through.
const net = require('node:net');
const dgram = require('node:dgram');
const dns = require('node:dns');
const { syncBuiltinESMExports } = require('node:module');

const report = (what) => process.stderr.write(`NETWORK-ATTEMPT ${what}\n`);
const refused = () => Object.assign(new Error('network access refused (test/support/no-network.cjs)'), { code: 'ECONNREFUSED' });

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === 'object' && first !== null ? first : { port: first, host: args[1] };
  if (typeof options.path === 'string') return connect.apply(this, args);
  report(`connect ${options.host ?? 'localhost'}:${options.port}`);
  process.nextTick(() => this.destroy(refused()));
  return this;
};

const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (...args) {
  report('udp send');
  const callback = args.find((arg) => typeof arg === 'function');
  if (callback) process.nextTick(callback, refused());
};
void send;

for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny']) {
  dns[name] = (host, ...rest) => {
    report(`dns ${name} ${host}`);
    const callback = rest.find((arg) => typeof arg === 'function');
    if (callback) process.nextTick(callback, refused());
  };
}
for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny']) {
  dns.promises[name] = async (host) => {
    report(`dns ${name} ${host}`);
    throw refused();
  };
}
syncBuiltinESMExports();
