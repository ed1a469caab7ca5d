{#
    The columns together identify a row: the grain test of a model whose key spans several columns
    (dbt_utils has the same test; hub packages cannot be installed where LeadFlow runs).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as count_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
