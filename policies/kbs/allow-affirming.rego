# Resource policy for development (coco-dev): release to any affirming appraisal, sample TEE too.
# Never use it where secrets matter.
package policy

import rego.v1

default allow := false

allow if input.submods.cpu0["ear.status"] == "affirming"
