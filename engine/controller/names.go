package controller

import (
	"strings"

	"github.com/weirmq/weir/engine/metadata"
)

// TopicNameMax is Kafka's longest topic name.
const TopicNameMax = 249

// ClusterMetadataTopic is the metadata log's topic name, which no client
// may create (KAFKA-14358).
const ClusterMetadataTopic = "__cluster_metadata"

// TopicNameError is Kafka's Topic.validate: "" for a legal name, else the
// message of its InvalidTopicException. Legal names are 1 to 249 of
// [a-zA-Z0-9._-], and neither "." nor "..".
func TopicNameError(name string) string {
	reason := ""
	switch {
	case name == "":
		reason = "the empty string is not allowed"
	case name == ".":
		reason = "'.' is not allowed"
	case name == "..":
		reason = "'..' is not allowed"
	case len(name) > TopicNameMax:
		reason = "the length of '" + name + "' is longer than the max allowed length 249"
	case !legalTopicChars(name):
		reason = "'" + name + "' contains one or more characters other than " +
			"ASCII alphanumerics, '.', '_' and '-'"
	default:
		return ""
	}
	return "Topic name is invalid: " + reason
}

func legalTopicChars(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// unifyCollisionChars maps '.' to '_': two topics whose names are equal
// after it would collide in metric names, so Kafka refuses the second.
func unifyCollisionChars(name string) string { return strings.ReplaceAll(name, ".", "_") }

// collidingTopic is an existing topic (in im, or created earlier in the
// same request) whose name differs from name only in '.' and '_', or "".
func collidingTopic(im *metadata.Image, pending []string, name string) string {
	if !strings.ContainsAny(name, "._") {
		return ""
	}
	u := unifyCollisionChars(name)
	for _, t := range im.Topics() {
		if t.Name != name && unifyCollisionChars(t.Name) == u {
			return t.Name
		}
	}
	for _, p := range pending {
		if p != name && unifyCollisionChars(p) == u {
			return p
		}
	}
	return ""
}
