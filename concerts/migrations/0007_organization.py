# Every venue and concert belongs to an organization. Rows made before organizations existed go to
# one default organization, "Stagegate" (created only if there are such rows); a superuser can
# rename it, add its staff as members, or move rows to other organizations in the admin.

import django.db.models.deletion
from django.db import migrations, models

DEFAULT_ORGANIZATION = "Stagegate"


def existing_rows_to_default_organization(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    Venue = apps.get_model("concerts", "Venue")
    Concert = apps.get_model("concerts", "Concert")
    if not (Venue.objects.filter(organization=None).exists() or Concert.objects.filter(organization=None).exists()):
        return
    organization, _ = Organization.objects.get_or_create(name=DEFAULT_ORGANIZATION)
    Venue.objects.filter(organization=None).update(organization=organization)
    Concert.objects.filter(organization=None).update(organization=organization)
    # The columns become NOT NULL next, in this transaction: PostgreSQL refuses to alter a table
    # with foreign-key checks still pending from these updates.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_organization"),
        ("concerts", "0006_concert_age_rating_concert_poster_path_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="venue",
            name="organization",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="venues",
                to="accounts.organization",
                verbose_name="organization",
            ),
        ),
        migrations.AddField(
            model_name="concert",
            name="organization",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="concerts",
                to="accounts.organization",
                verbose_name="organization",
            ),
        ),
        migrations.RunPython(existing_rows_to_default_organization, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="venue",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="venues",
                to="accounts.organization",
                verbose_name="organization",
            ),
        ),
        migrations.AlterField(
            model_name="concert",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="concerts",
                to="accounts.organization",
                verbose_name="organization",
            ),
        ),
    ]
