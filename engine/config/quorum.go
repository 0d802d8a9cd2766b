package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Voter is one entry of controller.quorum.voters: a controller's node id
// and where its controller listener is reached.
type Voter struct {
	ID   int32
	Host string
	Port int
}

// Addr is host:port for dialing.
func (v Voter) Addr() string { return net.JoinHostPort(v.Host, strconv.Itoa(v.Port)) }

func (v Voter) String() string { return strconv.Itoa(int(v.ID)) + "@" + v.Addr() }

// parseVoter parses {id}@{host}:{port} as Kafka's QuorumConfig does: the
// id a non-negative integer, the host a host name or IP (v6 in brackets),
// routable (not 0.0.0.0), the port 1..65535.
func parseVoter(entry string) (Voter, error) {
	form := fmt.Errorf("%q: each entry should be in the form {id}@{host}:{port}", entry)
	idText, addr, ok := strings.Cut(strings.TrimSpace(entry), "@")
	if !ok || strings.Contains(addr, "@") {
		return Voter{}, form
	}
	id, err := strconv.ParseInt(idText, 10, 32)
	if err != nil || id < 0 {
		return Voter{}, fmt.Errorf("%q: the id %q is not a node id >= 0", entry, idText)
	}
	host, port, err := parseHostPort(addr)
	if err != nil {
		return Voter{}, fmt.Errorf("%q: %v", entry, err)
	}
	if host == "0.0.0.0" || host == "::" {
		return Voter{}, fmt.Errorf("%q: host %s is not routable", entry, host)
	}
	return Voter{ID: int32(id), Host: host, Port: port}, nil
}

// parseHostPort reads host:port with a host name or IP and a port in
// 1..65535 (a peer's address, so 0 is not a port).
func parseHostPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" || !validHost(host) {
		return "", 0, fmt.Errorf("cannot parse a host name from %q", addr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not in 1..65535", portText)
	}
	return host, port, nil
}

// validHost accepts an IP or a DNS name (letters, digits, '-', '.', '_').
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// resolveQuorum checks the quorum keys against the roles and listeners,
// as Kafka's KafkaConfig.validateValues does, and sets r.Voters.
//
//   - No quorum keys: this node is a single node, its own one-voter
//     quorum, as Weir has always run (process.roles may stay the default
//     broker,controller; a single role needs a quorum, as in Kafka).
//   - controller.quorum.voters: ids unique, hosts and ports parse; a
//     controller is among the voters and has a controller listener among
//     listeners; a broker-only node is not a voter, has a controller
//     listener name for reaching the quorum and does not listen on it.
//   - controller.quorum.bootstrap.servers (KIP-853's dynamic quorum) is
//     not supported yet, except naming this node's own controller
//     listener: Kafka 4's sample server.properties runs a standalone
//     node that way, which is the single node Weir already is.
func (c *Config) resolveQuorum(r *Resolved) error {
	for _, entry := range c.List("controller.quorum.voters") {
		v, err := parseVoter(entry)
		if err != nil {
			return c.fail("controller.quorum.voters", "%v", err)
		}
		if slices.ContainsFunc(r.Voters, func(o Voter) bool { return o.ID == v.ID }) {
			return c.fail("controller.quorum.voters", "node id %d is listed twice", v.ID)
		}
		r.Voters = append(r.Voters, v)
	}
	bootstrap := c.List("controller.quorum.bootstrap.servers")
	if err := c.checkBootstrap(r, bootstrap); err != nil {
		return err
	}
	controller := slices.Contains(r.Roles, "controller")
	broker := slices.Contains(r.Roles, "broker")
	quorum := len(r.Voters) > 0 || len(bootstrap) > 0
	if !quorum {
		if !(controller && broker) {
			return c.fail("process.roles", "process.roles=%s needs a quorum: set controller.quorum.voters "+
				"(a node with no quorum keys runs both roles, its own single-node quorum)", strings.Join(r.Roles, ","))
		}
		return nil
	}
	if len(r.ControllerListeners) == 0 {
		return c.fail("controller.listener.names", "required with a controller quorum: name the listener "+
			"controllers are reached on (e.g. CONTROLLER)")
	}
	isVoter := slices.ContainsFunc(r.Voters, func(v Voter) bool { return v.ID == r.NodeID })
	if controller && len(r.Voters) > 0 && !isVoter {
		return c.fail("controller.quorum.voters", "process.roles contains controller, so node.id %d "+
			"must be one of the voters", r.NodeID)
	}
	if !controller {
		if isVoter {
			return c.fail("controller.quorum.voters", "process.roles=broker, so node.id %d must not be "+
				"one of the voters", r.NodeID)
		}
		for _, l := range r.Listeners {
			if slices.Contains(r.ControllerListeners, l.Name) {
				return c.fail("listeners", "process.roles=broker, so listeners must not include the "+
					"controller listener %s", l.Name)
			}
		}
	}
	if controller && !broker {
		for _, l := range r.Listeners {
			if !slices.Contains(r.ControllerListeners, l.Name) {
				return c.fail("listeners", "process.roles=controller, so listeners may only be "+
					"controller listeners (%s is not)", l.Name)
			}
		}
	}
	return nil
}

// checkBootstrap accepts controller.quorum.bootstrap.servers only as one
// host:port naming this node's own controller listener (its port, and its
// host unless the listener binds every interface).
func (c *Config) checkBootstrap(r *Resolved, servers []string) error {
	const key = "controller.quorum.bootstrap.servers"
	if len(servers) == 0 {
		return nil
	}
	var host string
	var port int
	for _, s := range servers {
		h, p, err := parseHostPort(strings.TrimSpace(s))
		if err != nil {
			return c.fail(key, "%q: %v; each entry should be in the form {host}:{port}", s, err)
		}
		host, port = h, p
	}
	unsupported := "the dynamic quorum (KIP-853) is not supported yet: " +
		"set controller.quorum.voters (a static quorum) instead"
	if len(r.Voters) > 0 {
		return c.fail(key, "%s; unset it when controller.quorum.voters is set", unsupported)
	}
	if len(servers) > 1 || !slices.Contains(r.Roles, "controller") || !c.ownController(r, host, port) {
		return c.fail(key, "%s (Weir accepts only this node's own controller listener here, "+
			"a standalone node)", unsupported)
	}
	return nil
}

// ownController says whether host:port is one of this node's controller
// listeners.
func (c *Config) ownController(r *Resolved, host string, port int) bool {
	for _, l := range r.Listeners {
		if !slices.Contains(r.ControllerListeners, l.Name) || l.Port != port {
			continue
		}
		if l.Host == "" || l.Host == "0.0.0.0" || l.Host == "::" || strings.EqualFold(l.Host, host) {
			return true
		}
		for _, a := range r.Advertised {
			if a.Name == l.Name && strings.EqualFold(a.Host, host) {
				return true
			}
		}
	}
	return false
}
