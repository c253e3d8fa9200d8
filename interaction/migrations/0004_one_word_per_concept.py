from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("interaction", "0003_proposition_without_redundant_indexes"),
    ]

    operations = [
        migrations.RenameField(
            model_name="offerspace", old_name="unitary_enabled", new_name="real_time"
        ),
        migrations.RemoveField(model_name="offerspace", name="cookie_identification"),
        migrations.RenameField(
            model_name="proposition", old_name="contact_ref", new_name="contact_key"
        ),
        # The index follows its renamed column in the database; only the
        # migration state still names the old field.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name="proposition", name="interaction_prop_contact"
                ),
                migrations.AddIndex(
                    model_name="proposition",
                    index=models.Index(
                        fields=["environment", "contact_key", "event_date"],
                        name="interaction_prop_contact",
                    ),
                ),
            ]
        ),
    ]
