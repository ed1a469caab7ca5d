{#
    On DuckDB, render ref() and source() without the database (catalog) part.

    DuckDB names a file's catalog after the file (warehouse.duckdb -> "warehouse"), and a view keeps
    the SQL it was created with. With the catalog written in, every staging view breaks as soon as
    the file is opened under another name: a copy, a backup restored elsewhere, a test fixture.
    Without it, names resolve in whichever file the view lives in. Other adapters are unchanged.
#}
{% macro ref() %}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if target.type == 'duckdb' and relation is not none and relation.include is defined -%}
        {%- do return(relation.include(database=false)) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}

{% macro source() %}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {%- if target.type == 'duckdb' and relation is not none and relation.include is defined -%}
        {%- do return(relation.include(database=false)) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
