// Starts Portkey's gateway (npm @portkey-ai/gateway, its own Node server) bound to
// 127.0.0.1 only: its start script listens on every interface and has no option for
// that, so the listen call is narrowed here before the script is loaded.
//   node portkey-loopback.mjs --port=N
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && !args[0].host) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
console.clear = () => {};
await import('@portkey-ai/gateway/build/start-server.js');
