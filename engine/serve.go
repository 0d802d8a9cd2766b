package engine

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/netio"
)

// listenerHandler is the netio.Handler of one listener; it knows the
// listener's name so Metadata can answer with that listener's endpoints.
type listenerHandler struct {
	b    *Broker
	name string
}

func (h *listenerHandler) ServeFrame(c netio.Conn, seq uint64, frame []byte) error {
	err := h.b.serveFrame(c, seq, frame, h.name)
	if err != nil {
		h.b.log.Info("closing connection", "listener", h.name, "remote", c.RemoteAddr(), "err", err)
	}
	return err
}

func (h *listenerHandler) ConnClosed(netio.Conn) {}

// serveFrame decodes one request frame and dispatches it: frame -> header
// -> api table -> version check -> body (kmsg) -> handler -> response. Any
// error means the request can't be answered the Kafka way and the
// connection is closed, as Kafka does.
func (b *Broker) serveFrame(c netio.Conn, seq uint64, frame []byte, listener string) error {
	if isRaftFrame(frame) && b.listenerKind(listener) == controllerListener {
		return b.serveRaftFrame(c, seq, frame)
	}
	h, kreq, body, err := parseHeader(frame)
	if err != nil {
		return err
	}
	r := &request{header: h, conn: c, seq: seq, listener: listener, kind: b.listenerKind(listener),
		image: b.image.Load()}
	a := lookupAPI(h.key)
	if a == nil {
		return fmt.Errorf("unsupported api %s (key %d) v%d from client %q",
			kmsg.NameForKey(h.key), h.key, h.version, h.clientID)
	}
	if !a.servedOn(r.kind) {
		return fmt.Errorf("api %s (key %d) v%d from client %q is not served on listener %s",
			kmsg.NameForKey(h.key), h.key, h.version, h.clientID, listener)
	}
	if h.version < a.min || h.version > a.max {
		if a.unsupported == nil {
			return fmt.Errorf("unsupported %s version %d (served: v%d-v%d) from client %q",
				kmsg.NameForKey(h.key), h.version, a.min, a.max, h.clientID)
		}
		r.respond(a.unsupported(b, r))
		return nil
	}
	if err := kreq.ReadFrom(body); err != nil {
		return fmt.Errorf("malformed %s v%d request from client %q: %w",
			kmsg.NameForKey(h.key), h.version, h.clientID, err)
	}
	r.kreq = kreq
	if h.key == 1 && r.kind == controllerListener && isMetadataFetch(kreq.(*kmsg.FetchRequest)) {
		go b.serveMetadataFetch(r, kreq.(*kmsg.FetchRequest))
		return nil
	}
	if b.forwards(h.key) {
		b.forward(a, r)
		return nil
	}
	resp, err := a.handle(b, r)
	if err != nil {
		return err
	}
	if resp != nil {
		r.respond(resp)
	}
	return nil
}

// listenerKind is the kind of the listener named name.
func (b *Broker) listenerKind(name string) listenerKind {
	if slices.Contains(b.cfg.ControllerListeners, name) {
		return controllerListener
	}
	return brokerListener
}
