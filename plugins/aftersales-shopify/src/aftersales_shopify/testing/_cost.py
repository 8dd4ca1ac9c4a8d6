"""Shopify's static query cost, as documented, so the fake can throttle like the real API.

Rules (shopify.dev "GraphQL Admin API rate limits" → cost calculation): a scalar or enum costs
0, an object 1, a connection 2 plus ``first``/``last`` × the cost of one node, a mutation 10.
A list field sized by ``first`` counts like a connection without the 2. Abstract types are summed
over their fragments (Shopify takes the maximum: this errs on the expensive side). The real
calculator also has per-field overrides we cannot know; the estimate is for tests, where it
keeps every document the plugin sends inside the 1000-point single-query limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)

MUTATION_COST = 10
MAX_QUERY_COST = 1000


def _size(field: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last"):
            value = arg.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                v = variables.get(value.name.value)
                return int(v) if isinstance(v, int) else None
    return None


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(self, node: SelectionSetNode | None, parent: Any) -> int:
        if node is None:
            return 0
        total = 0
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                total += self.field(sel, parent)
            elif isinstance(sel, InlineFragmentNode):
                target = self.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                total += self.selection(sel.selection_set, target)
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments[sel.name.value]
                total += self.selection(
                    frag.selection_set, self.schema.get_type(frag.type_condition.name.value)
                )
        return total

    def field(self, field: FieldNode, parent: Any) -> int:
        name = field.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        size = _size(field, self.variables)
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            return 2 + (size if size is not None else 1) * self.connection_node(field.selection_set, named)
        child = 1 + self.selection(field.selection_set, named)
        if is_list_type(get_nullable_type(definition.type)):
            return (size if size is not None else 1) * child
        return child

    def connection_node(self, node: SelectionSetNode | None, connection: GraphQLObjectType) -> int:
        """Cost of one node of a connection (from ``nodes`` or ``edges { node }``)."""
        best = 0
        for sel in node.selections if node else ():
            if not isinstance(sel, FieldNode):
                continue
            if sel.name.value == "nodes":
                best = max(
                    best,
                    1 + self.selection(sel.selection_set, get_named_type(connection.fields["nodes"].type)),
                )
            elif sel.name.value == "edges":
                edge = get_named_type(connection.fields["edges"].type)
                for inner in sel.selection_set.selections if sel.selection_set else ():
                    if (
                        isinstance(inner, FieldNode)
                        and inner.name.value == "node"
                        and isinstance(edge, GraphQLObjectType)
                    ):
                        best = max(
                            best,
                            1 + self.selection(inner.selection_set, get_named_type(edge.fields["node"].type)),
                        )
        return best


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """The requested (worst-case) cost of the operation in ``document``."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next(
        (o for o in operations if o.name and o.name.value == operation_name),
        operations[0] if operations else None,
    )
    if op is None:
        return 0
    if op.operation is OperationType.MUTATION:
        return MUTATION_COST
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Estimator(schema, fragments, variables or {}).selection(op.selection_set, schema.query_type)


def actual_cost(data: Any) -> int:
    """Objects actually returned (the real API charges for what it returned, not what was asked)."""
    if isinstance(data, dict):
        return 1 + sum(actual_cost(v) for k, v in data.items() if k != "pageInfo")
    if isinstance(data, list):
        return sum(actual_cost(v) for v in data)
    return 0
