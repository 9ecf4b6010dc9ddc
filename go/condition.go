package verify

import (
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/name"
)

// MarkVerified sets SourceVerified=True as source-controller does after a
// verified signature: reason Succeeded, "verified signature of revision
// <revision>".
func MarkVerified(obj conditions.Setter, revision string) {
	conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, meta.SucceededReason,
		"verified signature of revision %s", revision)
}

// MarkVerificationFailed sets SourceVerified=False as source-controller
// does when verification fails: reason VerificationError, "failed to
// verify the signature using provider '<provider>': <cause>".
func MarkVerificationFailed(obj conditions.Setter, provider string, cause error) {
	conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationError,
		"failed to verify the signature using provider '%s': %s", provider, cause)
}

// Revision is source-controller's revision string for a verified
// reference: "<tag>@sha256:<hex>" for a tag, "sha256:<hex>" for a digest.
func Revision(ref name.Reference, digest string) string {
	if tag, ok := ref.(name.Tag); ok {
		return fmt.Sprintf("%s@%s", tag.TagStr(), digest)
	}
	return digest
}

// OCIRepositoryOptions maps an OCIRepository's .spec.verify to options:
// the provider, the public keys of the secretRef Secret's data (its *.pub
// entries), else the matchOIDCIdentity pairs, and the trustedRootSecretRef
// Secret's trusted_root.json. secretData and trustedRootData are the two
// Secrets' data (nil when not referenced). It also returns the provider
// name for the condition's message.
func OCIRepositoryOptions(spec *sourcev1.OCIRepositoryVerification, secretData, trustedRootData map[string][]byte) ([]Option, string, error) {
	if spec == nil {
		return nil, "", nil
	}
	provider := spec.Provider
	if provider == "" {
		provider = "cosign"
	}
	opts := []Option{WithProvider(provider)}
	if provider != "cosign" {
		return nil, provider, fmt.Errorf("unsupported verification provider: %s", provider)
	}
	if spec.SecretRef != nil {
		var n int
		for k := range secretData {
			if strings.HasSuffix(k, ".pub") {
				n++
			}
		}
		if n == 0 {
			return nil, "cosign", fmt.Errorf("no public keys found in secret '%s'", spec.SecretRef.Name)
		}
		return append(opts, WithSecretData(secretData)), "cosign", nil
	}
	ids := make([]Identity, len(spec.MatchOIDCIdentity))
	for i, m := range spec.MatchOIDCIdentity {
		ids[i] = Identity{Issuer: m.Issuer, Subject: m.Subject}
	}
	opts = append(opts, WithIdentities(ids))
	if spec.TrustedRootSecretRef != nil {
		root, ok := trustedRootData["trusted_root.json"]
		if !ok {
			return nil, "cosign keyless", fmt.Errorf("'%s' not found in secret '%s'", "trusted_root.json", spec.TrustedRootSecretRef.Name)
		}
		opts = append(opts, WithTrustedRoot(root))
	}
	return opts, "cosign keyless", nil
}
