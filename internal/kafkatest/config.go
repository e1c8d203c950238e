package kafkatest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/qegate/qegate/internal/kafkatest/pki"
)

// Listener names of the extra listeners Options.Secure adds. PLAINTEXT
// (Addr) and CONTROLLER are always there.
const (
	// ListenerPlaintext is the plain listener every broker has (Addr).
	ListenerPlaintext = "PLAINTEXT"
	// ListenerSASLSSL is SASL_SSL with PLAIN, SCRAM-SHA-256 and
	// SCRAM-SHA-512, presenting the good server certificate.
	ListenerSASLSSL = "SASL_SSL"
	// ListenerMTLS is SSL with ssl.client.auth=required: the client
	// certificate is the authentication.
	ListenerMTLS = "MTLS"
	// ListenerExpired is SSL presenting a certificate that has expired.
	ListenerExpired = "EXPIRED"
	// ListenerWrongHost is SSL presenting a certificate valid only for
	// pki.WrongHost.
	ListenerWrongHost = "WRONGHOST"
)

// secureListeners are the listeners Options.Secure adds, in port order.
var secureListeners = []string{ListenerSASLSSL, ListenerMTLS, ListenerExpired, ListenerWrongHost}

// nodeConfig is what differs between the nodes of a cluster.
type nodeConfig struct {
	id                   int
	port, controllerPort int
	dataDir              string
	// voters is controller.quorum.voters for a static quorum of several
	// nodes; empty means a single node formatted --standalone.
	voters string
	// replicas is the cluster size, which caps internal topics' RF.
	replicas int
	// securePorts maps each secure listener to its port; nil without
	// Options.Secure.
	securePorts map[string]int
	certs       *pki.Set
	users       map[string]string
}

// serverConfig renders server.properties for one combined KRaft
// broker+controller on 127.0.0.1. Keys in opts.Config override the
// defaults.
func serverConfig(n nodeConfig, opts Options) string {
	replicas := max(n.replicas, 1)
	listeners := []string{
		fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", n.port),
		fmt.Sprintf("CONTROLLER://127.0.0.1:%d", n.controllerPort),
	}
	advertised := []string{fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", n.port)}
	protocols := []string{"PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"}
	props := map[string]string{
		"process.roles":                            "broker,controller",
		"node.id":                                  strconv.Itoa(max(n.id, 1)),
		"controller.listener.names":                "CONTROLLER",
		"inter.broker.listener.name":               "PLAINTEXT",
		"log.dirs":                                 n.dataDir,
		"num.partitions":                           strconv.Itoa(max(opts.Partitions, 1)),
		"default.replication.factor":               strconv.Itoa(min(replicas, 3)),
		"min.insync.replicas":                      "1",
		"offsets.topic.replication.factor":         strconv.Itoa(min(replicas, 3)),
		"offsets.topic.num.partitions":             strconv.Itoa(max(opts.OffsetsPartitions, 1)),
		"transaction.state.log.replication.factor": strconv.Itoa(min(replicas, 3)),
		"transaction.state.log.min.isr":            strconv.Itoa(min(replicas, 2)),
		"transaction.state.log.num.partitions":     "1",
		"group.initial.rebalance.delay.ms":         "0",
		"group.min.session.timeout.ms":             "500",
		"auto.create.topics.enable":                strconv.FormatBool(!opts.DisableAutoCreateTopics),
		"delete.topic.enable":                      "true",
		"broker.heartbeat.interval.ms":             "500",
		"broker.session.timeout.ms":                brokerSession(replicas),
		"num.network.threads":                      "2",
		"num.io.threads":                           "2",
		"num.recovery.threads.per.data.dir":        "1",
		"log.retention.check.interval.ms":          "300000",
	}
	if n.voters == "" {
		props["controller.quorum.bootstrap.servers"] = fmt.Sprintf("127.0.0.1:%d", n.controllerPort)
	} else {
		props["controller.quorum.voters"] = n.voters
	}
	if n.securePorts != nil {
		protocolOf := map[string]string{ListenerSASLSSL: "SASL_SSL", ListenerMTLS: "SSL", ListenerExpired: "SSL", ListenerWrongHost: "SSL"}
		for _, l := range secureListeners {
			u := fmt.Sprintf("%s://127.0.0.1:%d", l, n.securePorts[l])
			listeners = append(listeners, u)
			advertised = append(advertised, u)
			protocols = append(protocols, l+":"+protocolOf[l])
		}
		// One key store for every TLS listener but the two bad ones; Kafka
		// 3.x reads PEM key and trust stores directly.
		props["ssl.keystore.type"] = "PEM"
		props["ssl.keystore.location"] = n.certs.Server.KeyStore
		props["ssl.truststore.type"] = "PEM"
		props["ssl.truststore.location"] = n.certs.CAFile
		props["listener.name.mtls.ssl.client.auth"] = "required"
		props["listener.name.expired.ssl.keystore.location"] = n.certs.ExpiredServer.KeyStore
		props["listener.name.wronghost.ssl.keystore.location"] = n.certs.WrongHostServer.KeyStore
		props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
		props["sasl.enabled.mechanisms"] = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
		// SCRAM credentials live in the metadata log (created at format
		// time); PLAIN checks the user_<name> options of its JAAS entry.
		var plainUsers strings.Builder
		for _, u := range slices.Sorted(maps.Keys(n.users)) {
			fmt.Fprintf(&plainUsers, " user_%s=%q", u, n.users[u])
		}
		props["listener.name.sasl_ssl.plain.sasl.jaas.config"] = "org.apache.kafka.common.security.plain.PlainLoginModule required" + plainUsers.String() + ";"
		props["listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config"] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
		props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
	}
	props["listeners"] = strings.Join(listeners, ",")
	props["advertised.listeners"] = strings.Join(advertised, ",")
	props["listener.security.protocol.map"] = strings.Join(protocols, ",")
	maps.Copy(props, opts.Config)
	var b strings.Builder
	b.WriteString("# generated by internal/kafkatest\n")
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	return b.String()
}

// log4jConfig sends every broker log line to logFile (nothing to stdout).
func log4jConfig(logFile string) string {
	return strings.Join([]string{
		"log4j.rootLogger=INFO, file",
		"log4j.appender.file=org.apache.log4j.FileAppender",
		"log4j.appender.file.File=" + logFile,
		"log4j.appender.file.Append=true",
		"log4j.appender.file.layout=org.apache.log4j.PatternLayout",
		"log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
		"log4j.logger.kafka=INFO",
		"log4j.logger.org.apache.kafka=INFO",
		"log4j.logger.state.change.logger=WARN",
		"log4j.logger.kafka.request.logger=WARN",
		"",
	}, "\n")
}

// newClusterID returns a random Kafka cluster id: a v4 UUID in URL-safe
// base64 without padding (22 characters), never starting with '-', as
// kafka.tools.StorageTool random-uuid prints.
func newClusterID() (string, error) {
	for {
		var u [16]byte
		if _, err := rand.Read(u[:]); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		id := base64.RawURLEncoding.EncodeToString(u[:])
		if !strings.HasPrefix(id, "-") {
			return id, nil
		}
	}
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment
// ago (all listeners are held open together so the ports differ).
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen on a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// brokerSession is how long the controller waits for a node's heartbeat
// before fencing it (taking its partitions offline). In a cluster 3s, so
// that a killed node's partitions fail over quickly. A single node is its
// own controller and has no one to fail over to: there a short session
// only hurts, since on a loaded machine (a CI runner, several suites at
// once) a JVM starved of CPU for 3s fences itself, and with it every
// partition and the group coordinator: consumer members are evicted and
// their commits refused. The fault suite's SIGTERM-under-throttle scenario
// saw exactly that: 289 duplicates after a clean drain, because the
// broker had fenced itself mid-drain. 9s (Kafka's default) rides out
// such stalls; its cost is a restart after Kill, which waits for the
// old session to expire.
func brokerSession(nodes int) string {
	if nodes > 1 {
		return "3000"
	}
	return "9000"
}
