// Command go-note checks Annal's signed notes against the reference implementation,
// golang.org/x/mod/sumdb/note (the code the Go checksum database and C2SP witnesses use).
//
// It reads one JSON request on stdin and writes one JSON response on stdout:
//
//	verify:   note.Open each note with its verifier key
//	sign:     note.Sign each text with a given private key (deterministic Ed25519)
//	generate: note.GenerateKey a fresh key and sign a text, for the reverse direction
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

type request struct {
	Verify []struct {
		VerifierKey string `json:"verifierKey"`
		Note        string `json:"note"`
	} `json:"verify"`
	Sign []struct {
		SignerKey string `json:"signerKey"`
		Text      string `json:"text"`
	} `json:"sign"`
	Generate *struct {
		Name string `json:"name"`
		Text string `json:"text"`
	} `json:"generate"`
}

type signer struct {
	Name string `json:"name"`
	Hash uint32 `json:"hash"`
}

type verifyResult struct {
	OK      bool     `json:"ok"`
	Error   string   `json:"error,omitempty"`
	Text    string   `json:"text,omitempty"`
	Signers []signer `json:"signers,omitempty"`
}

type signResult struct {
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
}

type generateResult struct {
	VerifierKey string `json:"verifierKey"`
	Note        string `json:"note"`
}

type response struct {
	Verify   []verifyResult  `json:"verify"`
	Sign     []signResult    `json:"sign"`
	Generate *generateResult `json:"generate,omitempty"`
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	res := response{Verify: []verifyResult{}, Sign: []signResult{}}
	for _, v := range req.Verify {
		res.Verify = append(res.Verify, verify(v.VerifierKey, v.Note))
	}
	for _, s := range req.Sign {
		res.Sign = append(res.Sign, sign(s.SignerKey, s.Text))
	}
	if g := req.Generate; g != nil {
		skey, vkey, err := note.GenerateKey(rand.Reader, g.Name)
		if err != nil {
			fail(err)
		}
		signed := sign(skey, g.Text)
		if signed.Error != "" {
			fail(fmt.Errorf("sign with generated key: %s", signed.Error))
		}
		res.Generate = &generateResult{VerifierKey: vkey, Note: signed.Note}
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}

func verify(vkey, msg string) verifyResult {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return verifyResult{Error: "verifier key: " + err.Error()}
	}
	n, err := note.Open([]byte(msg), note.VerifierList(verifier))
	if err != nil {
		return verifyResult{Error: err.Error()}
	}
	out := verifyResult{OK: true, Text: n.Text}
	for _, s := range n.Sigs {
		out.Signers = append(out.Signers, signer{Name: s.Name, Hash: s.Hash})
	}
	return out
}

func sign(skey, text string) signResult {
	s, err := note.NewSigner(skey)
	if err != nil {
		return signResult{Error: "signer key: " + err.Error()}
	}
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return signResult{Error: err.Error()}
	}
	return signResult{Note: string(msg)}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-note:", err)
	os.Exit(1)
}
