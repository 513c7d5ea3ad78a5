// A WebSocket that loses frames on purpose (the test decides which), built on `ws`
// but without its extras, so the client sees it as it sees a browser's WebSocket.

import WebSocket from "ws";

/**
 * lossyWebSocket(drop) -> a WebSocket class; drop(frame, socket) returns true to lose
 * the frame (socket.close() may be called from it to cut the connection there).
 */
export function lossyWebSocket(drop) {
  return class Lossy {
    constructor(url, protocols, options) {
      this.ws = new WebSocket(url, protocols, options);
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      this.ws.onopen = (ev) => this.onopen?.(ev);
      this.ws.onerror = (ev) => this.onerror?.(ev);
      this.ws.onclose = (ev) => this.onclose?.({ code: ev.code, reason: ev.reason });
      this.ws.onmessage = (ev) => {
        if (!drop(JSON.parse(String(ev.data)), this)) this.onmessage?.({ data: ev.data });
      };
    }

    get readyState() {
      return this.ws.readyState;
    }

    send(data) {
      this.ws.send(data);
    }

    close(code, reason) {
      this.ws.close(code, reason);
    }
  };
}
