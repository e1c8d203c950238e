package kafkatest

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/kafkatest/pki"
)

func TestServerConfig(t *testing.T) {
	cfg := serverConfig(nodeConfig{port: 9092, controllerPort: 9093, dataDir: "/tmp/data"}, Options{
		Partitions:              4,
		DisableAutoCreateTopics: true,
		Config:                  map[string]string{"log.retention.ms": "1000", "min.insync.replicas": "1"},
	})
	for _, want := range []string{
		"process.roles=broker,controller\n",
		"node.id=1\n",
		"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n",
		"controller.quorum.bootstrap.servers=127.0.0.1:9093\n",
		"log.dirs=/tmp/data\n",
		"num.partitions=4\n",
		"offsets.topic.replication.factor=1\n",
		"transaction.state.log.replication.factor=1\n",
		"transaction.state.log.min.isr=1\n",
		"group.initial.rebalance.delay.ms=0\n",
		"auto.create.topics.enable=false\n",
		"log.retention.ms=1000\n",
		"broker.session.timeout.ms=9000\n", // a single node must not fence itself under load
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("server.properties lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "controller.quorum.voters") {
		t.Error("--standalone formatting needs controller.quorum.voters unset")
	}
}

func TestNewClusterID(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, err := newClusterID()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != 16 || len(id) != 22 || strings.HasPrefix(id, "-") {
			t.Fatalf("bad cluster id %q (%d bytes, err %v)", id, len(raw), err)
		}
		if seen[id] {
			t.Fatalf("cluster id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestFreePorts(t *testing.T) {
	ps, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0] == ps[1] || ps[1] == ps[2] || ps[0] == ps[2] {
		t.Fatalf("ports %v not distinct", ps)
	}
}

func TestServerConfigClusterAndSecure(t *testing.T) {
	certs := &pki.Set{CAFile: "/c/ca.pem", Server: pki.Pair{KeyStore: "/c/server.pem"},
		ExpiredServer: pki.Pair{KeyStore: "/c/expired.pem"}, WrongHostServer: pki.Pair{KeyStore: "/c/wrong.pem"}}
	cfg := serverConfig(nodeConfig{
		id: 2, port: 9092, controllerPort: 9093, dataDir: "/d", replicas: 3,
		voters:      "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3",
		securePorts: map[string]int{ListenerSASLSSL: 9094, ListenerMTLS: 9095, ListenerExpired: 9096, ListenerWrongHost: 9097},
		certs:       certs, users: map[string]string{"bob": "b0b", "alice": "a1"},
	}, Options{})
	for _, want := range []string{
		"node.id=2\n",
		"controller.quorum.voters=1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3\n",
		"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094,MTLS://127.0.0.1:9095,EXPIRED://127.0.0.1:9096,WRONGHOST://127.0.0.1:9097\n",
		"advertised.listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094,MTLS://127.0.0.1:9095,EXPIRED://127.0.0.1:9096,WRONGHOST://127.0.0.1:9097\n",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL,EXPIRED:SSL,WRONGHOST:SSL\n",
		"inter.broker.listener.name=PLAINTEXT\n",
		"offsets.topic.replication.factor=3\n",
		"transaction.state.log.min.isr=2\n",
		"broker.session.timeout.ms=3000\n", // a killed node fails over quickly
		"ssl.keystore.type=PEM\n",
		"ssl.keystore.location=/c/server.pem\n",
		"ssl.truststore.location=/c/ca.pem\n",
		"listener.name.mtls.ssl.client.auth=required\n",
		"listener.name.expired.ssl.keystore.location=/c/expired.pem\n",
		"listener.name.wronghost.ssl.keystore.location=/c/wrong.pem\n",
		`listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="a1" user_bob="b0b";` + "\n",
		"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("server.properties lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "controller.quorum.bootstrap.servers") {
		t.Error("a static quorum needs controller.quorum.bootstrap.servers unset")
	}
}
