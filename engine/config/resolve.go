package config

import (
	"fmt"
	"slices"
	"strings"
)

// Resolved is what the engine runs with, checked across keys.
type Resolved struct {
	NodeID int32
	Roles  []string
	// Listeners are bound; Advertised are told to clients, by listener name.
	Listeners           []Listener
	Advertised          []Listener
	ControllerListeners []string
	InterBrokerListener string // "" when unset
	// Voters is controller.quorum.voters; nil for a node with no quorum
	// keys, which is its own single-node quorum.
	Voters          []Voter
	LogDirs         []string
	Rack            *string
	RequestMaxBytes int32
	// ConnectionsMaxIdleMs is connections.max.idle.ms (<= 0: never).
	ConnectionsMaxIdleMs int64
	// QueuedMaxRequestBytes is queued.max.request.bytes (<= 0: no bound).
	QueuedMaxRequestBytes int64
	// IOThreads is num.io.threads: how many leader appends may be written
	// at once off the shard loops, as Kafka's request handler threads
	// bound its appends.
	IOThreads int
}

// Resolve checks the keys that depend on each other and returns the
// resolved settings; it caches them, so call it after the last Set.
func (c *Config) Resolve() (*Resolved, error) {
	if c.resolved != nil {
		return c.resolved, nil
	}
	r := &Resolved{RequestMaxBytes: c.Int("socket.request.max.bytes"),
		ConnectionsMaxIdleMs:  c.Long("connections.max.idle.ms"),
		QueuedMaxRequestBytes: c.Long("queued.max.request.bytes"), IOThreads: int(c.Int("num.io.threads"))}
	if q := r.QueuedMaxRequestBytes; q > 0 && q < int64(r.RequestMaxBytes) && !c.IsSet("queued.max.request.bytes") {
		// Weir's default bound (Kafka has none) grows with a larger
		// socket.request.max.bytes rather than refusing it.
		r.QueuedMaxRequestBytes = int64(r.RequestMaxBytes)
	}
	if q := r.QueuedMaxRequestBytes; q > 0 && q < int64(r.RequestMaxBytes) {
		// Kafka refuses it too: one request of the largest size must fit.
		return nil, c.fail("queued.max.request.bytes", "must be at least socket.request.max.bytes (%d), or -1", r.RequestMaxBytes)
	}
	var err error
	if r.NodeID, err = c.nodeID(); err != nil {
		return nil, err
	}
	if r.Roles, err = c.roles(); err != nil {
		return nil, err
	}
	r.ControllerListeners = upper(c.List("controller.listener.names"))
	if err := c.resolveListeners(r); err != nil {
		return nil, err
	}
	if err := c.resolveQuorum(r); err != nil {
		return nil, err
	}
	if r.LogDirs, err = c.logDirs(); err != nil {
		return nil, err
	}
	if c.Get("broker.rack") != nil {
		rack := c.String("broker.rack")
		r.Rack = &rack
	}
	c.resolved = r
	return r, nil
}

func (c *Config) fail(key, reason string, args ...any) error {
	return &Error{Key: key, Value: c.Text(key), Source: c.Source(key), Reason: fmt.Sprintf(reason, args...)}
}

// nodeID: node.id, or broker.id when only it is set; both set must agree.
func (c *Config) nodeID() (int32, error) {
	if c.IsSet("node.id") && c.IsSet("broker.id") && c.Int("node.id") != c.Int("broker.id") {
		return 0, c.fail("broker.id", "must equal node.id (%d) when both are set", c.Int("node.id"))
	}
	id := c.Int("node.id")
	if id < 0 {
		return 0, c.fail("node.id", "required: set node.id (or broker.id) to an id >= 0")
	}
	return id, nil
}

func (c *Config) roles() ([]string, error) {
	roles := c.List("process.roles")
	if len(roles) == 0 {
		return nil, c.fail("process.roles", "must name broker, controller or both")
	}
	for i, r := range roles {
		if slices.Contains(roles[:i], r) {
			return nil, c.fail("process.roles", "%s is listed twice", r)
		}
	}
	return roles, nil
}

func (c *Config) resolveListeners(r *Resolved) error {
	protocols, err := parseProtocolMap(c.List("listener.security.protocol.map"))
	if err != nil {
		return c.fail("listener.security.protocol.map", "%v", err)
	}
	if !c.IsSet("listener.security.protocol.map") {
		// As Kafka does: with the default map, controller listeners whose
		// names are no protocol's speak PLAINTEXT.
		for _, name := range r.ControllerListeners {
			if _, ok := protocols[name]; !ok {
				protocols[name] = "PLAINTEXT"
			}
		}
	}
	if r.Listeners, err = parseListeners(c.List("listeners"), protocols); err != nil {
		return c.fail("listeners", "%v", err)
	}
	if len(r.Listeners) == 0 {
		return c.fail("listeners", "at least one listener is needed")
	}
	for i, l := range r.Listeners {
		for _, o := range r.Listeners[:i] {
			if l.Port != 0 && l.Port == o.Port && l.Host == o.Host {
				return c.fail("listeners", "listeners %s and %s use the same port", o.Name, l.Name)
			}
		}
	}
	names := make([]string, len(r.Listeners))
	for i, l := range r.Listeners {
		names[i] = l.Name
	}
	advKey := "advertised.listeners"
	if !c.IsSet(advKey) {
		advKey = "listeners"
	}
	if r.Advertised, err = parseListeners(c.List("advertised.listeners"), protocols); err != nil {
		return c.fail(advKey, "%v", err)
	}
	for _, a := range r.Advertised {
		if !slices.Contains(names, a.Name) {
			return c.fail(advKey, "advertised listener %s is not in listeners", a.Name)
		}
		if a.Host == "0.0.0.0" || a.Host == "::" {
			return c.fail(advKey, "advertised listener %s cannot use the nonroutable meta-address %s; "+
				"set advertised.listeners to a routable address", a.Name, a.Host)
		}
	}
	for _, name := range r.ControllerListeners {
		if slices.Contains(r.Roles, "controller") && !slices.Contains(names, name) {
			return c.fail("controller.listener.names", "%s is not in listeners", name)
		}
	}
	if c.Get("inter.broker.listener.name") != nil {
		ibl := strings.ToUpper(c.String("inter.broker.listener.name"))
		if !slices.ContainsFunc(r.Advertised, func(l Listener) bool { return l.Name == ibl }) {
			return c.fail("inter.broker.listener.name", "%s is not an advertised listener", ibl)
		}
		r.InterBrokerListener = ibl
	}
	return nil
}

func (c *Config) logDirs() ([]string, error) {
	key := "log.dirs"
	if !c.IsSet(key) && c.IsSet("log.dir") {
		key = "log.dir"
	}
	dirs := c.List("log.dirs")
	if len(dirs) == 0 {
		return nil, c.fail(key, "at least one log directory is needed")
	}
	for i, d := range dirs {
		if d == "" {
			return nil, c.fail(key, "empty log directory")
		}
		if slices.Contains(dirs[:i], d) {
			return nil, c.fail(key, "log directory %s is listed twice", d)
		}
	}
	return dirs, nil
}

func upper(list []string) []string {
	for i := range list {
		list[i] = strings.ToUpper(list[i])
	}
	return list
}
