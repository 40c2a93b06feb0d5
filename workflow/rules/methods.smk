# Methods of one's own (config `methods`): each one's rule file, included here, writes the
# predictions files it promises (blendphot.methods; docs/extending.md).
from blendphot.methods import check_method_rules

for _rule_file in METHOD_RULE_FILES.values():

    include: str(_rule_file)


# A rule file that writes none of its method's promised files fails here, before any job.
check_method_rules(workflow.rules, EXTRA_METHODS, METHOD_RULE_FILES, DATASET)
