# kata-cc default resource policy: which attested guests may fetch which resource.
#
# input: the EAR token claims (`input.submods.cpu0["ear.status"]`, ...["ear.veraison.annotated-evidence"]).
# data["resource-path"]: "<repository>/<type>/<tag>" of the requested resource.
# data.plugin: "resource".
#
# Release only to affirming appraisals of a real TEE: the sample TEE proves nothing.
package policy

import rego.v1

default allow := false

allow if {
	input.submods.cpu0["ear.status"] == "affirming"
	not input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
