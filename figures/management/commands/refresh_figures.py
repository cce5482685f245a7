from django.core.management.base import BaseCommand

from figures import services


class Command(BaseCommand):
    help = "Rebuild the monthly statistics of this node now (beat does it nightly)."

    def handle(self, *args, **options):
        refresh = services.refresh_figures()
        self.stdout.write(f"{refresh.disputes} disputes counted in {refresh.seconds:.1f} s")
