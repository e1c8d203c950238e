// Package pki generates the certificates the TLS tests need, in a test's
// temporary directory: a CA, a broker certificate for 127.0.0.1 and
// localhost, a client certificate for mTLS, and the bad ones the negative
// tests present (expired, issued for another host, signed by another CA).
// Keys are ECDSA P-256 (fast to generate) in unencrypted PKCS#8, which both
// Go and Kafka's PEM key stores (ssl.keystore.type=PEM) read.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// WrongHost is the only name the wrong-host broker certificate is valid for.
const WrongHost = "kafka.other.example"

// Pair is a certificate and its key on disk.
type Pair struct {
	// CertFile holds the PEM certificate followed by its issuer's.
	CertFile string
	// KeyFile holds the PEM PKCS#8 private key.
	KeyFile string
	// KeyStore holds key and certificate chain in one file, the layout of a
	// Kafka PEM key store (ssl.keystore.type=PEM).
	KeyStore string
	// Cert is the parsed leaf certificate.
	Cert *x509.Certificate
}

// Set is every file Generate writes.
type Set struct {
	// Dir is where the files are.
	Dir string
	// CAFile is the test CA's certificate (a PEM trust store).
	CAFile string
	// OtherCAFile is an unrelated CA's certificate: trusting only it makes
	// the broker's certificate "signed by unknown authority".
	OtherCAFile string
	// Server is the broker's certificate for 127.0.0.1 and localhost.
	Server Pair
	// ExpiredServer is a broker certificate for the same names that
	// expired a day ago.
	ExpiredServer Pair
	// WrongHostServer is a broker certificate valid only for WrongHost.
	WrongHostServer Pair
	// Client is the mTLS client certificate (CN qegate-client).
	Client Pair
	// ExpiredClient is a client certificate that expired a day ago.
	ExpiredClient Pair
	// OtherClient is a client certificate signed by the other CA.
	OtherClient Pair
}

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// Generate writes a fresh Set into dir.
func Generate(dir string) (*Set, error) {
	s := &Set{Dir: dir}
	now := time.Now()
	ca, err := newCA("qegate test CA", now)
	if err != nil {
		return nil, err
	}
	other, err := newCA("some other CA", now)
	if err != nil {
		return nil, err
	}
	s.CAFile = filepath.Join(dir, "ca.pem")
	s.OtherCAFile = filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(s.CAFile, ca.pem, 0o644); err != nil {
		return nil, fmt.Errorf("pki: write ca: %w", err)
	}
	if err := os.WriteFile(s.OtherCAFile, other.pem, 0o644); err != nil {
		return nil, fmt.Errorf("pki: write other ca: %w", err)
	}
	local := []string{"localhost"}
	localIPs := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	valid := [2]time.Time{now.Add(-time.Hour), now.Add(30 * 24 * time.Hour)}
	expired := [2]time.Time{now.Add(-30 * 24 * time.Hour), now.Add(-24 * time.Hour)}
	for _, spec := range []struct {
		out    *Pair
		name   string
		ca     *authority
		server bool
		dns    []string
		ips    []net.IP
		period [2]time.Time
	}{
		{&s.Server, "server", ca, true, local, localIPs, valid},
		{&s.ExpiredServer, "expired-server", ca, true, local, localIPs, expired},
		{&s.WrongHostServer, "wronghost-server", ca, true, []string{WrongHost}, nil, valid},
		{&s.Client, "client", ca, false, nil, nil, valid},
		{&s.ExpiredClient, "expired-client", ca, false, nil, nil, expired},
		{&s.OtherClient, "other-client", other, false, nil, nil, valid},
	} {
		p, err := issue(dir, spec.name, spec.ca, spec.server, spec.dns, spec.ips, spec.period)
		if err != nil {
			return nil, err
		}
		*spec.out = p
	}
	return s, nil
}

func newCA(cn string, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: ca key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"qegate tests"}},
		NotBefore:             now.Add(-60 * 24 * time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: ca cert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse ca cert: %w", err)
	}
	return &authority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func issue(dir, name string, ca *authority, server bool, dns []string, ips []net.IP, period [2]time.Time) (Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: %s key: %w", name, err)
	}
	usage := x509.ExtKeyUsageClientAuth
	cn := "qegate-" + name
	if server {
		usage = x509.ExtKeyUsageServerAuth
		if len(dns) > 0 {
			cn = dns[0]
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"qegate tests"}},
		NotBefore:    period[0],
		NotAfter:     period[1],
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: %s cert: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: parse %s cert: %w", name, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: %s key: %w", name, err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.pem...)
	p := Pair{
		CertFile: filepath.Join(dir, name+"-cert.pem"),
		KeyFile:  filepath.Join(dir, name+"-key.pem"),
		KeyStore: filepath.Join(dir, name+"-keystore.pem"),
		Cert:     cert,
	}
	for path, data := range map[string][]byte{
		p.CertFile: chain,
		p.KeyFile:  keyPEM,
		p.KeyStore: append(append([]byte{}, keyPEM...), chain...),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return Pair{}, fmt.Errorf("pki: write %s: %w", path, err)
		}
	}
	return p, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		// crypto/rand does not fail on Linux; a fixed serial would still
		// make a valid (if not unique) test certificate.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
