package config

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Listener is one NAME://host:port of listeners or advertised.listeners.
type Listener struct {
	Name     string // upper case, e.g. PLAINTEXT, CONTROLLER
	Protocol string // its security protocol, from listener.security.protocol.map
	Host     string // "" binds every interface
	Port     int
}

// Addr is host:port for binding or dialing.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

func (l Listener) String() string { return l.Name + "://" + l.Addr() }

// Security protocols Weir serves; Kafka's others (SSL, SASL_PLAINTEXT,
// SASL_SSL) are recognized so the error can say they are not served yet.
var (
	servedProtocols = []string{"PLAINTEXT"}
	kafkaProtocols  = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}
)

// Kafka's listener pattern: NAME://host:port, the host maybe [v6] or empty.
var listenerRE = regexp.MustCompile(`^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$`)

// parseListener parses one URI; protocol mapping happens later.
func parseListener(uri string) (Listener, error) {
	m := listenerRE.FindStringSubmatch(strings.TrimSpace(uri))
	if m == nil {
		return Listener{}, fmt.Errorf("%q is not a listener of the form NAME://host:port", uri)
	}
	port, err := strconv.Atoi(m[3])
	if err != nil || port < 0 || port > 65535 {
		return Listener{}, fmt.Errorf("listener %q: port %s is not in 0..65535", uri, m[3])
	}
	name := strings.ToUpper(m[1])
	if name == "" {
		return Listener{}, fmt.Errorf("listener %q has no name", uri)
	}
	return Listener{Name: name, Host: m[2], Port: port}, nil
}

// parseListeners parses a listener list: names unique; with a protocol map
// each name must map to a protocol Weir serves.
func parseListeners(uris []string, protocols map[string]string) ([]Listener, error) {
	var out []Listener
	seen := map[string]bool{}
	for _, uri := range uris {
		l, err := parseListener(uri)
		if err != nil {
			return nil, err
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("listener name %s is used twice", l.Name)
		}
		seen[l.Name] = true
		proto, ok := protocols[l.Name]
		if !ok {
			return nil, fmt.Errorf("no security protocol for listener %s in listener.security.protocol.map", l.Name)
		}
		if !slices.Contains(servedProtocols, proto) {
			return nil, fmt.Errorf("listener %s: security protocol %s is not supported yet (Weir serves %s)",
				l.Name, proto, strings.Join(servedProtocols, ", "))
		}
		l.Protocol = proto
		out = append(out, l)
	}
	return out, nil
}

// parseProtocolMap parses NAME:PROTOCOL,... into a map.
func parseProtocolMap(items []string) (map[string]string, error) {
	m := map[string]string{}
	for _, it := range items {
		name, proto, ok := strings.Cut(it, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || name == "" || proto == "" {
			return nil, fmt.Errorf("%q is not NAME:PROTOCOL", it)
		}
		if !slices.Contains(kafkaProtocols, proto) {
			return nil, fmt.Errorf("%q: unknown security protocol %s (Kafka's are %s)",
				it, proto, strings.Join(kafkaProtocols, ", "))
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("listener name %s is mapped twice", name)
		}
		m[name] = proto
	}
	return m, nil
}
